import { describe, expect, it } from 'vitest';
import { natsServerAvailable, rabbitServerAvailable } from '../helpers/brokers.js';
import { postgresAvailable } from '../helpers/databases.js';
import { runChaos } from './harness.js';
import { formatReport } from './invariants.js';

/**
 * The short chaos run inside npm test, once per run: refunds through the whole engine as real
 * processes, with faults, worker kills and two API kills, on a production-shaped cluster of its own
 * (a history host SIGKILLed and started again, the frontend restarted), with two thirds of the
 * events over a RabbitMQ node and a NATS server of its own, each SIGKILLed and started again, every
 * outcome to both besides the webhook, and people resolving refunds left to them. It ran on the
 * dev server too (100 refunds, the dev server restarted midway), the same invariants at about 90 s
 * more per run; the cluster's run has the faults production can meet, the dev server's restart is
 * one only development meets, and `npm run chaos` (the dev server by default) is the full run of
 * that. The worker processes and the API share the ledger, so it needs PostgreSQL. Without
 * rabbitmq-server or nats-server (allowed only outside CI: REQUIRE_BROKERS=1 fails there) it runs
 * without the brokers rather than not at all.
 */
const postgres = await postgresAvailable();
const brokers = natsServerAvailable() && rabbitServerAvailable();

describe.skipIf(!postgres)('chaos, short', () => {
  it(`60 refunds on the cluster (mutual TLS)${brokers ? ', a third each over RabbitMQ and NATS,' : ''} with a history host SIGKILLed, the frontend${brokers ? ' and both brokers' : ''} restarted besides: the same invariants hold`, async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const report = await runChaos({
      refunds: 60,
      seed,
      workers: 2,
      concurrency: 8,
      drainTimeoutMs: 300_000,
      temporal: 'cluster',
      brokers,
      log: () => undefined,
    });
    console.log(formatReport(report));
    expect(report.invariants.filter((i) => i.violations.length > 0)).toEqual([]);
    const figure = (label: string) => report.figures.find(([l]) => l === label)?.[1] ?? '';
    // What the faults saw: the killed history host back in the membership and owning shards again
    // (a host not seen back, or one that exited on its own, is a violation above), and each broker
    // killed and started again.
    expect(figure('chaos')).toMatch(
      /^[1-9]\d* worker SIGKILLs, 2 API SIGKILLs, history-[12] SIGKILLed, back in the membership owning [1-8] of 8 shards [\d.]+ s after its restart, 1 frontend restart, /,
    );
    if (brokers) expect(figure('chaos')).toMatch(/, 1 frontend restart, RabbitMQ SIGKILLed, down [\d.]+ s, back in [\d.]+ s, NATS SIGKILLed, down [\d.]+ s, /);
    const invariant = (name: string) => report.invariants.find((i) => i.name.startsWith(name))?.figure;
    expect(invariant('every accepted refund settled')).toBe('60 of 60 accepted');
    // Events went in over each broker, every one it acknowledged reached the ledger.
    if (brokers)
      expect(invariant('nothing acknowledged lost')).toMatch(
        /^60 of 60 accepted in the ledger; RabbitMQ ([1-9]\d*) of \1 acknowledged \(\d+ publishes\), NATS ([1-9]\d*) of \2 acknowledged/,
      );
  }, 1_500_000);
});
