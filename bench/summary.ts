import type { BenchResult } from './bench.js';

/**
 * Several runs of the benchmark side by side (`npm run bench -- --temporal both --repeat 3`): one
 * column per Temporal, each figure as its median and its range over the repeats. Pure, so it is
 * unit-tested (test/bench.test.ts).
 */

/** One figure of a run, read from its result; undefined when the run has none. */
interface Figure {
  label: string;
  unit: string;
  /** Decimals it is printed with. */
  digits: number;
  of: (r: BenchResult) => number | undefined;
}

/** The CPU seconds of all parts together, as a share of what the machine had in the burst. */
const busyShare = (r: BenchResult): number => (100 * Object.values(r.burst.cpuSeconds).reduce((a, b) => a + b, 0)) / (r.machine.cores * r.burst.durationS);

const perItemMs = (seconds: number | undefined, count: number): number | undefined =>
  seconds === undefined || count === 0 ? undefined : (1000 * seconds) / count;

export const FIGURES: Figure[] = [
  { label: 'burst', unit: 'refunds/s', digits: 1, of: (r) => r.burst.perSecond },
  { label: 'ceiling', unit: 'no-op workflows/s', digits: 1, of: (r) => r.ceiling.perSecond },
  { label: 'ratio', unit: '%', digits: 1, of: (r) => 100 * r.ratio },
  { label: 'CPU busy in the burst', unit: '% of all cores', digits: 1, of: busyShare },
  { label: 'worker CPU per refund', unit: 'ms', digits: 0, of: (r) => perItemMs(r.burst.cpuSeconds.worker, r.burst.accepted) },
  { label: 'worker CPU per no-op workflow', unit: 'ms', digits: 0, of: (r) => perItemMs(r.ceiling.cpuSeconds.worker, r.ceiling.workflows) },
  {
    label: 'worker CPU per refund ÷ per no-op',
    unit: '×',
    digits: 2,
    of: (r) => {
      const refund = perItemMs(r.burst.cpuSeconds.worker, r.burst.accepted);
      const noop = perItemMs(r.ceiling.cpuSeconds.worker, r.ceiling.workflows);
      return refund === undefined || noop === undefined || noop === 0 ? undefined : refund / noop;
    },
  },
  { label: 'burst: intake', unit: 'events/s', digits: 1, of: (r) => r.burst.intake?.perSecond },
  { label: 'burst: accepted → provider p99', unit: 'ms', digits: 0, of: (r) => r.burst.acceptedToProviderMs.p99 },
  { label: 'paced: engine-added p50', unit: 'ms', digits: 0, of: (r) => r.paced.engineAddedMs.p50 },
  { label: 'paced: engine-added p99', unit: 'ms', digits: 0, of: (r) => r.paced.engineAddedMs.p99 },
  { label: 'history events per refund, max', unit: '', digits: 0, of: (r) => r.burst.historyEvents.max },
  { label: 'peak worker RSS', unit: 'MB', digits: 0, of: (r) => r.burst.peakRssMb.worker },
  { label: 'rate limit: most in any second', unit: 'requests', digits: 0, of: (r) => Math.max(r.rateLimit.maxInAnySecond.oen, r.rateLimit.maxInAnySecond.mwd) },
];

/** The median (the lower middle of an even count), least and most of `values`. */
export function spread(values: number[]): { median: number; min: number; max: number } | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 };
}

/** "12.9" for one value; "14.3 (12.9–16.3)" for the median and range of several. */
export function cell(values: number[], digits = 1): string {
  const s = spread(values);
  if (!s) return '—';
  const n = (x: number) => x.toFixed(digits);
  return values.length === 1 ? n(s.median) : `${n(s.median)} (${n(s.min)}–${n(s.max)})`;
}

/** The runs of each Temporal, in the order given, as one table: a row per figure, a column per Temporal. */
export function sideBySide(runs: Array<{ temporal: string; result: BenchResult }>): string {
  const columns = new Map<string, BenchResult[]>();
  for (const { temporal, result } of runs) columns.set(temporal, [...(columns.get(temporal) ?? []), result]);
  const repeats = Math.max(...[...columns.values()].map((results) => results.length));
  const header = ['figure', ...[...columns].map(([c, results]) => (repeats > 1 ? `${c}: median (min–max) of ${results.length}` : c))];
  const rows = FIGURES.map((f) => [
    `${f.label}${f.unit ? ` (${f.unit})` : ''}`,
    ...[...columns.values()].map((results) =>
      cell(
        results.flatMap((r) => {
          const v = f.of(r);
          return v === undefined || !Number.isFinite(v) ? [] : [v];
        }),
        f.digits,
      ),
    ),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => (row[i] ?? '').length)));
  return [header, ...rows].map((row) => `  ${row.map((text, i) => text.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd()).join('\n');
}
