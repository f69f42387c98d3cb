import { badValue } from './flags.js';

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Why a text is not a duration, as `--timeout must be …` says it. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/**
 * A duration as people write it: a whole number and a unit, `90s`, `15m`, `1h`, `2d`, or several
 * together (`1h30m`). A bare number is refused: seconds or minutes would be a guess.
 */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (!/^(\d+[smhd])+$/.test(text) || parts.length === 0) {
    throw new DurationError('must be a whole number and a unit, e.g. 90s, 15m, 1h, 2d or 1h30m');
  }
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * unitMs[unit as keyof typeof unitMs], 0);
  if (ms <= 0) throw new DurationError('must be longer than 0s');
  return ms;
}

/** The parser of a duration flag: a usage error naming `flag` when the text is not one. */
export function durationFlag(flag: string): (text: string) => number {
  return (text) => {
    try {
      return parseDuration(text);
    } catch (err) {
      if (err instanceof DurationError) throw badValue(flag, err.message, text);
      throw err;
    }
  };
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
