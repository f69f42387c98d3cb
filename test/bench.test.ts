import { describe, expect, it } from 'vitest';
import { maxInAnyWindow, percentiles, tightestSpan } from '../bench/stats.js';

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
});
