/** Figures for the benchmark's tables, kept pure so they are unit-tested (test/bench.test.ts). */

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
}

/** Nearest-rank percentiles, rounded to the millisecond. */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => {
    if (sorted.length === 0) return 0;
    return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0);
  };
  return { p50: rank(50), p95: rank(95), p99: rank(99), max: Math.round(sorted.at(-1) ?? 0), count: sorted.length };
}

/** The most timestamps (ms, sorted ascending) inside any window [t, t + windowMs). */
export function maxInAnyWindow(sortedTimes: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < sortedTimes.length; end += 1) {
    while ((sortedTimes[end] ?? 0) - (sortedTimes[start] ?? 0) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** The shortest time (ms) spanned by `count` consecutive timestamps (sorted ascending); Infinity if fewer. */
export function tightestSpan(sortedTimes: number[], count: number): number {
  let best = Infinity;
  for (let i = 0; i + count - 1 < sortedTimes.length; i += 1) best = Math.min(best, (sortedTimes[i + count - 1] ?? 0) - (sortedTimes[i] ?? 0));
  return best;
}
