import { InvalidArgumentError } from 'commander';

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration as people write it: a whole number and a unit, `90s`, `15m`, `1h`, `2d`, or several
 * together (`1h30m`). A bare number is refused: seconds or minutes would be a guess.
 */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (!/^(\d+[smhd])+$/.test(text) || parts.length === 0) {
    throw new InvalidArgumentError('give a whole number and a unit: 90s, 15m, 1h, 2d (or 1h30m)');
  }
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * unitMs[unit as keyof typeof unitMs], 0);
  if (ms <= 0) throw new InvalidArgumentError('must be longer than 0s');
  return ms;
}

/** `90s` → "1m30s": the shortest way to write `ms` (rounded down to seconds) in the units parseDuration reads. */
export function formatDuration(ms: number): string {
  let rest = Math.floor(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (rest >= size) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join('');
}
