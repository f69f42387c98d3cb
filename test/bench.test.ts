import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../bench/bench.js';
import { maxInAnyWindow, percentiles, tightestSpan } from '../bench/stats.js';
import { cell, sideBySide, spread } from '../bench/summary.js';

/** The benchmark's arithmetic (bench/stats.ts); the benchmark itself is `npm run bench`, not a test. */
describe('bench figures', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(percentiles(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100, count: 100 });
    expect(percentiles([7])).toEqual({ p50: 7, p95: 7, p99: 7, max: 7, count: 1 });
    expect(percentiles([])).toEqual({ p50: 0, p95: 0, p99: 0, max: 0, count: 0 });
  });

  it('counts the most timestamps in any window, the window open at its end', () => {
    expect(maxInAnyWindow([0, 100, 999, 1000, 1500, 1999], 1000)).toBe(3);
    expect(maxInAnyWindow([0, 999, 1998, 2997], 1000)).toBe(2);
    expect(maxInAnyWindow([], 1000)).toBe(0);
  });

  it('finds the shortest span of n consecutive timestamps', () => {
    expect(tightestSpan([0, 400, 500, 1600, 1700], 3)).toBe(500);
    expect(tightestSpan([0, 10], 3)).toBe(Infinity);
  });

  it('gives a median (the lower middle of an even count) and a range, and prints one value alone', () => {
    expect(spread([16.3, 12.9, 14.3])).toEqual({ median: 14.3, min: 12.9, max: 16.3 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2, min: 1, max: 4 });
    expect(spread([])).toBeUndefined();
    expect(cell([12.94])).toBe('12.9');
    expect(cell([16.3, 12.9, 14.3])).toBe('14.3 (12.9–16.3)');
    expect(cell([305, 154], 0)).toBe('154 (154–305)');
    expect(cell([])).toBe('—');
  });

  it('sets runs side by side, a column per Temporal, each figure from every run of it', () => {
    const run = (perSecond: number, ceiling: number, workerBurst: number, workerCeiling: number): BenchResult =>
      ({
        machine: { cores: 2 },
        burst: {
          perSecond,
          accepted: 1000,
          durationS: 50,
          cpuSeconds: { worker: workerBurst, other: 50 },
          acceptedToProviderMs: { p99: 40_000 },
          historyEvents: { max: 18 },
          peakRssMb: { worker: 480 },
        },
        ceiling: { perSecond: ceiling, workflows: 1000, cpuSeconds: { worker: workerCeiling } },
        ratio: perSecond / ceiling,
        paced: { engineAddedMs: { p50: 100, p99: 200 } },
        rateLimit: { maxInAnySecond: { oen: 20, mwd: 19 } },
      }) as unknown as BenchResult;
    const table = sideBySide([
      { temporal: 'dev', result: run(15, 30, 30, 14) },
      { temporal: 'dev', result: run(17, 20, 25, 12.5) },
      { temporal: 'cluster', result: run(13, 21.5, 29.4, 13.9) },
      { temporal: 'cluster', result: run(16.3, 7.7, 25.3, 13.9) },
    ]);
    const line = (label: string) =>
      table
        .split('\n')
        .find((l) => l.trimStart().startsWith(label))
        ?.trim();
    expect(table.split('\n')[0]).toMatch(/figure +dev: median \(min–max\) of 2 +cluster: median \(min–max\) of 2/);
    expect(line('burst (refunds/s)')).toMatch(/15\.0 \(15\.0–17\.0\) +13\.0 \(13\.0–16\.3\)$/);
    expect(line('ceiling')).toMatch(/20\.0 \(20\.0–30\.0\) +7\.7 \(7\.7–21\.5\)$/);
    // (30 + 50) s of CPU in 2 cores × 50 s: 80 %; (25 + 50): 75 %.
    expect(line('CPU busy in the burst')).toMatch(/^CPU busy in the burst \(% of all cores\) +75\.0 \(75\.0–80\.0\)/);
    expect(line('worker CPU per refund ÷ per no-op')).toMatch(/2\.00 \(2\.00–2\.14\) +1\.82 \(1\.82–2\.12\)$/);
    expect(line('rate limit')).toMatch(/20 \(20–20\) +20 \(20–20\)$/);
  });
});
