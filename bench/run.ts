/**
 * `npm run bench [-- --refunds N --concurrency C --latency-ms L --workers W --paced N --rate-limit R --limit-refunds N --temporal dev|cluster|both --repeat N]`:
 * the benchmark of bench/bench.ts. Prints a table (several runs: side by side, bench/summary.ts) and
 * writes bench/results/latest.json. Needs PostgreSQL (TEST_DATABASE_URL, default this machine's) for
 * the ledger the processes share.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseTemporalKind, type TemporalKind } from '../test/helpers/temporal-under-test.js';
import { runBench, type BenchResult } from './bench.js';
import { sideBySide } from './summary.js';

const { values } = parseArgs({
  options: {
    refunds: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '50' },
    'latency-ms': { type: 'string', default: '50' },
    workers: { type: 'string', default: '1' },
    paced: { type: 'string' },
    'rate-limit': { type: 'string', default: '20' },
    'limit-refunds': { type: 'string', default: '400' },
    temporal: { type: 'string', default: 'dev' },
    repeat: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    [
      'Usage: npm run bench [-- --refunds N --concurrency C --latency-ms L --workers W --paced N --rate-limit R --limit-refunds N --temporal dev|cluster|both --repeat N]',
      '',
      'The benchmark (docs/performance.md): prints a table and writes bench/results/latest.json.',
      'Needs PostgreSQL (TEST_DATABASE_URL).',
      '',
      '  --refunds N         refunds in the burst (default 10000, at least 10)',
      '  --concurrency C     senders in the burst, starters for the ceiling (default 50)',
      '  --latency-ms L      added by the emulators before every answer (default 50)',
      '  --workers W         worker processes (default 1)',
      "  --paced N           refunds sent at half the burst's rate (default refunds / 5, between 100 and 2000)",
      '  --rate-limit R      requests/s per provider in the last phase, across two workers (default 20)',
      '  --limit-refunds N   refunds in that phase (default 400)',
      "  --temporal T        dev: npm start's dev server (default); cluster: npm run cluster's production-shaped",
      '                      cluster (5 processes on PostgreSQL, mutual TLS), built on first use; both: the dev',
      '                      server, then the cluster, printed side by side',
      '  --repeat N          runs of each (default 1); with more, each figure is its median (min–max)',
    ].join('\n'),
  );
  process.exit(0);
}

const number = (name: string, value: string | undefined, min: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be a whole number of at least ${min} (got ${value})`);
    process.exit(2);
  }
  return n;
};
const refunds = number('refunds', values.refunds, 10);
const repeat = number('repeat', values.repeat, 1);
const kinds: TemporalKind[] = values.temporal === 'both' ? ['dev', 'cluster'] : [parseTemporalKind(values.temporal)];
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
const commit = commitOfCheckout();

const options = {
  refunds,
  concurrency: number('concurrency', values.concurrency, 1),
  latencyMs: number('latency-ms', values['latency-ms'], 0),
  workers: number('workers', values.workers, 1),
  pacedRefunds: number('paced', values.paced ?? String(Math.max(100, Math.min(2_000, Math.round(refunds / 5)))), 10),
  rateLimit: number('rate-limit', values['rate-limit'], 1),
  limitRefunds: number('limit-refunds', values['limit-refunds'], 10),
  command,
};

mkdirSync('bench/results', { recursive: true });
const runs: Array<{ temporal: TemporalKind; result: BenchResult }> = [];
/** latest.json: one run's result, or every run so far whole (written after each, so a run that fails loses none before it). */
const write = () => {
  const [only] = runs;
  const content = kinds.length === 1 && repeat === 1 && only ? only.result : { at: new Date().toISOString(), command, commit, repeat, runs };
  writeFileSync('bench/results/latest.json', `${JSON.stringify(content, null, 2)}\n`);
};
for (const temporal of kinds) {
  for (let i = 1; i <= repeat; i += 1) {
    const tag = kinds.length > 1 || repeat > 1 ? `[${temporal} ${i}/${repeat}] ` : '';
    const result = await runBench({ ...options, temporal, log: (line) => console.log(`${tag}${line}`) });
    runs.push({ temporal, result: { ...result, commit } });
    write();
    console.log(`\n${tag}\n${table(result)}\n`);
  }
}
if (runs.length > 1) console.log(`${command} at ${commit}: ${repeat} run(s) of each\n${sideBySide(runs)}\n`);
console.log(`Written to bench/results/latest.json${runs.length > 1 ? ' (every run whole)' : ''}`);

/** The checkout's commit, "-dirty" when what the bench runs (src, bench, scripts, deploy, package files) has uncommitted changes. */
function commitOfCheckout(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync(
      'git',
      [
        'status',
        '--porcelain',
        '--',
        'src',
        'bench/bench.ts',
        'bench/run.ts',
        'bench/stats.ts',
        'bench/summary.ts',
        'scripts',
        'deploy',
        'package.json',
        'package-lock.json',
      ],
      {
        encoding: 'utf8',
      },
    ).trim();
    return changed ? `${head}-dirty` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** "worker 61 s, dev server 40 s, … of 144 s (2 cores × 72 s)". */
function cpuLine(seconds: Record<string, number>, durationS: number, cores: number): string {
  const parts = Object.entries(seconds)
    .sort(([, a], [, b]) => b - a)
    .map(([part, s]) => `${part} ${s} s`);
  return `${parts.join(', ')} — of ${Math.round(durationS * cores)} s (${cores} cores × ${durationS} s)`;
}

function table(r: BenchResult): string {
  const ms = (p: { p50: number; p95: number; p99: number }) => `p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms`;
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows: Array<[string, string]> = [
    ['machine', `${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}`],
    ['', `${r.machine.temporal}, PostgreSQL ${r.machine.postgres}`],
    ['command', r.command],
    [
      'burst',
      `${r.burst.accepted} refunds in ${r.burst.durationS} s: ${r.burst.perSecond} refunds/s (${r.options.concurrency} senders, provider latency ${r.options.latencyMs} ms, ${r.options.workers} worker)`,
    ],
    ['ceiling (no-op workflow)', `${r.ceiling.workflows} workflows in ${r.ceiling.durationS} s: ${r.ceiling.perSecond} workflows/s`],
    ['ratio', `${Math.round(r.ratio * 100)} % of the ceiling (target ≥ 80 %: ${verdict(r.ratio >= 0.8)})`],
    ...(r.burst.intake
      ? ([
          [
            'burst: intake',
            `${r.burst.accepted} accepted in ${r.burst.intake.durationS} s: ${r.burst.intake.perSecond} events/s (the processing rate is the burst's)`,
          ],
        ] as Array<[string, string]>)
      : []),
    [
      'burst: accepted → provider',
      `${ms(r.burst.acceptedToProviderMs)} (the whole backlog at the processing rate: ${Math.round(r.burst.accepted / r.burst.perSecond)} s)`,
    ],
    ['burst: provider → complete', ms(r.burst.providerToCompleteMs)],
    ['paced', `${r.paced.accepted} refunds at ${r.paced.targetPerSecond}/s (half the burst's rate)`],
    ['paced: accepted → provider', ms(r.paced.acceptedToProviderMs)],
    ['paced: provider → complete', ms(r.paced.providerToCompleteMs)],
    ['paced: engine-added (both)', `${ms(r.paced.engineAddedMs)} (target p99 ≤ 250 ms: ${verdict(r.paced.engineAddedMs.p99 <= 250)})`],
    [
      'history events per refund',
      `mean ${r.burst.historyEvents.mean}, min ${r.burst.historyEvents.min}, max ${r.burst.historyEvents.max} (target ≤ 20: ${verdict(r.burst.historyEvents.max <= 20)})`,
    ],
    [
      'peak RSS during the burst',
      `worker ${r.burst.peakRssMb.worker} MB (target ≤ 400 MB: ${verdict(r.burst.peakRssMb.worker <= 400)}), API ${r.burst.peakRssMb.api} MB`,
    ],
    ['CPU during the burst', cpuLine(r.burst.cpuSeconds, r.burst.durationS, r.machine.cores)],
    ['CPU during the ceiling', cpuLine(r.ceiling.cpuSeconds, r.ceiling.durationS, r.machine.cores)],
    [
      'rate limit',
      `${r.rateLimit.limit}/s per provider, ${r.rateLimit.workers} workers, ${r.rateLimit.refunds} refunds: most in any second Oen ${r.rateLimit.maxInAnySecond.oen}, MWD ${r.rateLimit.maxInAnySecond.mwd}; ` +
        `average Oen ${r.rateLimit.averagePerSecond.oen}/s, MWD ${r.rateLimit.averagePerSecond.mwd}/s; ` +
        `${r.rateLimit.limit + 1} requests never came closer than Oen ${r.rateLimit.tightestSpanOfLimitPlusOneMs.oen} ms, MWD ${r.rateLimit.tightestSpanOfLimitPlusOneMs.mwd} ms (${r.rateLimit.holds ? 'holds' : 'EXCEEDED'})`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
