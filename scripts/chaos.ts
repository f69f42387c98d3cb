/**
 * `npm run chaos [-- --refunds N --seed S --workers W --concurrency C --temporal dev|cluster --brokers]`: the reliability run of
 * test/chaos/harness.ts, with its invariant table; exits 1 when an invariant is violated.
 * Needs PostgreSQL (TEST_DATABASE_URL, default this machine's) for the shared ledger.
 */
import { parseArgs } from 'node:util';
import { formatReport } from '../test/chaos/invariants.js';
import { runChaos } from '../test/chaos/harness.js';
import { parseTemporalKind } from '../test/helpers/temporal-under-test.js';

const { values } = parseArgs({
  options: {
    refunds: { type: 'string', default: '1000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    temporal: { type: 'string', default: 'dev' },
    brokers: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    [
      'Usage: npm run chaos [-- --refunds N --seed S --workers W --concurrency C --temporal dev|cluster --brokers]',
      '',
      'The reliability run (docs/reliability.md): the whole engine as real processes under faults and kills,',
      'then its invariants, refund by refund. Exits 1 when one is violated. Needs PostgreSQL (TEST_DATABASE_URL).',
      '',
      '  --refunds N       refunds to send (default 1000)',
      '  --seed S          the seed of its random choices (default: from the clock)',
      '  --workers W       worker processes (default 2)',
      '  --concurrency C   senders working at once (default 16)',
      '  --temporal T      dev: the dev server, restarted midway (default); cluster: the production-shaped',
      '                    cluster of npm run cluster with mutual TLS, a history host SIGKILLed and the',
      '                    frontend restarted (built on first use, like npm run cluster)',
      '  --brokers         two thirds of the events over RabbitMQ and NATS (a node and a server of the',
      "                    run's own, each SIGKILLed and started again midway), every outcome to both too",
    ].join('\n'),
  );
  process.exit(0);
}
const refunds = Number(values.refunds);
const report = await runChaos({
  refunds,
  seed: Number(values.seed),
  workers: Number(values.workers),
  concurrency: Number(values.concurrency),
  temporal: parseTemporalKind(values.temporal),
  brokers: values.brokers,
  drainTimeoutMs: Math.max(300_000, refunds * 600),
  log: (line) => console.log(line),
});
console.log(`\n${formatReport(report)}`);
process.exit(report.ok ? 0 : 1);
