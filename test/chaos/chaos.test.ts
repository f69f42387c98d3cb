import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/databases.js';
import { runChaos } from './harness.js';
import { formatReport } from './invariants.js';

/**
 * The short chaos runs inside npm test: refunds through the whole engine as real processes, with
 * faults, worker kills and an API kill, on the dev server (restarted midway) and on the
 * production-shaped cluster (a history host SIGKILLed and started again, the frontend restarted).
 * `npm run chaos [-- --temporal cluster]` is the full one. The worker processes and the API share
 * the ledger, so it needs PostgreSQL.
 */
const postgres = await postgresAvailable();

describe.skipIf(!postgres)('chaos, short', () => {
  it('100 refunds under faults (gateway 504s after the refund, HTML lists, 429s) and kills: nothing lost, nothing sent twice, failed ⇒ not refunded, ledger = sandbox, every end told', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const report = await runChaos({ refunds: 100, seed, workers: 2, concurrency: 8, drainTimeoutMs: 300_000, log: () => undefined });
    console.log(formatReport(report));
    expect(report.invariants.filter((i) => i.violations.length > 0)).toEqual([]);
    // The run did what it says: chaos happened and every refund was accepted.
    const figure = (label: string) => report.figures.find(([l]) => l === label)?.[1] ?? '';
    expect(figure('chaos')).toMatch(/^[1-9]\d* worker SIGKILLs, 1 API SIGKILL, 1 dev server restart/);
    expect(report.invariants.find((i) => i.name.startsWith('every accepted refund settled'))?.figure).toBe('100 of 100 accepted');
  }, 600_000);

  it('60 refunds on the cluster (mutual TLS), with a history host SIGKILLed and the frontend restarted besides: the same invariants hold', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const report = await runChaos({ refunds: 60, seed, workers: 2, concurrency: 8, drainTimeoutMs: 300_000, temporal: 'cluster', log: () => undefined });
    console.log(formatReport(report));
    expect(report.invariants.filter((i) => i.violations.length > 0)).toEqual([]);
    const figure = (label: string) => report.figures.find(([l]) => l === label)?.[1] ?? '';
    expect(figure('chaos')).toMatch(/^[1-9]\d* worker SIGKILLs, 1 API SIGKILL, 1 history host SIGKILL, 1 frontend restart/);
    expect(report.invariants.find((i) => i.name.startsWith('every accepted refund settled'))?.figure).toBe('60 of 60 accepted');
  }, 600_000);
});
