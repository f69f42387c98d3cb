/**
 * `npm run chaos [-- --refunds N --seed S --workers W --concurrency C]`: the reliability run of
 * test/chaos/harness.ts, with its invariant table; exits 1 when an invariant is violated.
 * Needs PostgreSQL (TEST_DATABASE_URL, default this machine's) for the shared ledger.
 */
import { parseArgs } from 'node:util';
import { formatReport } from '../test/chaos/invariants.js';
import { runChaos } from '../test/chaos/harness.js';

const { values } = parseArgs({
  options: {
    refunds: { type: 'string', default: '1000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
  },
});
const refunds = Number(values.refunds);
const report = await runChaos({
  refunds,
  seed: Number(values.seed),
  workers: Number(values.workers),
  concurrency: Number(values.concurrency),
  drainTimeoutMs: Math.max(300_000, refunds * 600),
  log: (line) => console.log(line),
});
console.log(`\n${formatReport(report)}`);
process.exit(report.ok ? 0 : 1);
