import type { z } from 'zod';
import { maskPans } from '../domain/pan.js';
import { usageError, type CliError } from './exit-codes.js';

/**
 * The CLI checks what it is given before it sends anything, with the rules the API applies — the
 * same zod schemas or their parts (src/domain/schemas/), never a second copy — and names the flag a
 * problem is in: `--amount must be a whole number of NT$ (got 12.5)`, exit code 2 (usage). The API
 * still checks everything again; this only keeps its schema words ("expected string, received
 * undefined") and its 422 away from a mistyped command line.
 */

/** A value as the message shows it: empty or spaced values quoted, long ones cut, card numbers masked. */
export function shown(value: unknown): string {
  const text = maskPans(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
  const cut = text.length > 40 ? `${text.slice(0, 37)}…` : text;
  return cut === '' || /\s/.test(cut) ? JSON.stringify(cut) : cut;
}

/** "--amount must be a whole number of NT$ (got 12.5)". */
export function badValue(flag: string, problem: string, got: unknown): CliError {
  return usageError(`${flag} ${problem} (got ${shown(got)})`);
}

/**
 * A number as a person types it in decimal (`1000`, `12.5`, `-3`), else NaN: `Number` alone would also
 * take `0x10`, `1e3` and the empty string, and a schema would then judge a number nobody typed.
 */
export function decimal(text: string): number {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : Number.NaN;
}

/**
 * An option or argument parser for commander that checks the value against `schema` as `read` turns
 * the text into the schema's input: the flag's first problem is a usage error naming it.
 */
export function checkedBy<T>(flag: string, schema: z.ZodType<T>, read: (text: string) => unknown = (text) => text): (text: string) => T {
  return (text) => {
    const parsed = schema.safeParse(read(text));
    if (!parsed.success) throw badValue(flag, parsed.error.issues[0]?.message ?? 'is not valid', text);
    return parsed.data;
  };
}

/** A parser that takes one of `choices` only. */
export function oneOf<const C extends readonly string[]>(flag: string, choices: C): (text: string) => C[number] {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw badValue(flag, `must be one of ${choices.join(', ')}`, text);
    return text;
  };
}

/**
 * Checks a whole request assembled from flags against its schema, every problem named by the flag
 * its field came from (`flags`: field → flag). A field with no value is required (`required` may say
 * more than that, per field); `typed` gives the text a person typed for a field whose value the CLI
 * converted (an amount), so the message shows it.
 */
export function checkRequest<S extends z.ZodType>(
  schema: S,
  value: Record<string, unknown>,
  flags: Readonly<Record<string, string>>,
  { typed = {}, required = {} }: { typed?: Readonly<Record<string, string>>; required?: Readonly<Record<string, string>> } = {},
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '');
    const flag = flags[field] ?? field;
    const given = typed[field] ?? value[field];
    return given === undefined ? `${flag} ${required[field] ?? 'is required'}` : `${flag} ${issue.message} (got ${shown(given)})`;
  });
  throw usageError([...new Set(problems)].join('; '));
}
