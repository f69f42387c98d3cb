import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { Signer } from '../webhooks/signing.js';
import { parseInboundEvent } from '../domain/schemas/events.js';

/**
 * `npx refundflow bulk <file.csv | file.jsonl>`: one event per line, sent to the API as order
 * management would (docs/bulk.md). Each line's event id comes from its contents, so running the same
 * file again sends nothing twice: lines already taken are answered as duplicates.
 */

export const bulkEventTypes = ['refund.requested', 'order.cancelled'] as const;
type BulkEventType = (typeof bulkEventTypes)[number];

/** One line of the file: the event it becomes, or why it cannot become one (a bad line). */
export type BulkLine =
  { kind: 'event'; line: number; eventId: string; type: BulkEventType; body: string; refundId?: string } | { kind: 'bad'; line: number; problem: string };
type BadLine = Extract<BulkLine, { kind: 'bad' }>;

/** The columns a CSV file may have; `type` is optional (default refund.requested), empty cells are absent. */
export const CSV_COLUMNS = [
  'type',
  'refundId',
  'provider',
  'orderId',
  'transactionHid',
  'amount',
  'reason',
  'cardToken',
  'merchantId',
  'subscriptionId',
] as const;
const NUMERIC = new Set(['amount']);

/** Keys in a stable order, so the same contents always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The event id of a line: its type and data, hashed. The same line, in any file, on any run: the same id. */
export function bulkEventId(type: string, data: unknown): string {
  return `bulk_${createHash('sha256')
    .update(`${type}\n${canonical(data)}`)
    .digest('hex')
    .slice(0, 40)}`;
}

/** Turns one line's fields into its signed-ready event, checked against the API's own schema. */
function toEvent(line: number, fields: Record<string, unknown>): BulkLine {
  const { type = 'refund.requested', ...data } = fields;
  if (typeof type !== 'string' || !(bulkEventTypes as readonly string[]).includes(type)) {
    return { kind: 'bad', line, problem: `type must be ${bulkEventTypes.join(' or ')} (got ${JSON.stringify(type)})` };
  }
  const eventId = bulkEventId(type, data);
  const event = { specversion: '1.0', id: eventId, source: 'refundflow-bulk', type, data };
  const parsed = parseInboundEvent(event);
  if (!parsed.ok) return { kind: 'bad', line, problem: parsed.problems.map((p) => `${p.field.replace(/^data\./, '')} ${p.problem}`).join('; ') };
  const refundId = type === 'refund.requested' ? (data as { refundId?: string }).refundId : undefined;
  return { kind: 'event', line, eventId, type: type as BulkEventType, body: JSON.stringify(event), ...(refundId !== undefined && { refundId }) };
}

/** JSON Lines: one object per line, `{ "type"?: …, …the event's data }`; blank lines are skipped. */
export function parseJsonl(text: string): BulkLine[] {
  const lines: BulkLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      lines.push({ kind: 'bad', line, problem: `not JSON: ${err instanceof Error ? err.message : String(err)}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      lines.push({ kind: 'bad', line, problem: 'must be a JSON object (one event per line)' });
      return;
    }
    lines.push(toEvent(line, value as Record<string, unknown>));
  });
  return lines;
}

/** CSV with a header row naming the columns (CSV_COLUMNS); a row the parser cannot read is rejected by its line. */
export function parseCsvText(text: string): BulkLine[] {
  const lines: BulkLine[] = [];
  const unreadable: BadLine[] = [];
  let header: string[] = [];
  const records: Array<{ record: Record<string, string>; info: { lines: number } }> = parseCsv(text, {
    columns: (names: string[]) => {
      header = names.map((n) => n.trim());
      const unknown = header.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
      if (unknown.length > 0) throw new BulkFileError(`line 1: unknown column ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(', ')}`);
      return header;
    },
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
    skip_records_with_error: true,
    on_skip: (err) => {
      const at = (err as { lines?: number } | undefined)?.lines ?? 0;
      unreadable.push({ kind: 'bad', line: at, problem: `not a CSV row of ${header.length} columns: ${err?.message ?? 'unreadable'}` });
      return undefined;
    },
    bom: true,
  });
  for (const { record, info } of records) {
    const fields: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(record)) {
      if (value === '') continue;
      fields[name] = NUMERIC.has(name) && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;
    }
    lines.push(toEvent(info.lines, fields));
  }
  // The parser names the line an unreadable row ended on; an unclosed quote runs on over the lines
  // after it, so the row is named by the lines it spans, from the one after the row before it.
  const ends = lines.map((l) => l.line);
  for (const bad of unreadable) {
    const start = Math.max(1, ...ends.filter((end) => end < bad.line), ...unreadable.map((u) => u.line).filter((end) => end < bad.line)) + 1;
    lines.push(start < bad.line ? { kind: 'bad', line: start, problem: `${bad.problem} (lines ${start}–${bad.line})` } : bad);
  }
  return lines.sort((a, b) => a.line - b.line);
}

export class BulkFileError extends Error {}

export function readBulkFile(path: string): BulkLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BulkFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return parseCsvText(text);
  if (ext === '.jsonl' || ext === '.ndjson') return parseJsonl(text);
  throw new BulkFileError(`${path}: the file must end in .csv or .jsonl`);
}

export type LineResult =
  | { line: number; outcome: 'accepted' | 'duplicate'; eventId: string; refundId?: string }
  | { line: number; outcome: 'rejected'; reason: string; eventId?: string }
  /** Never answered (the API away, or the run interrupted): run the file again. */
  | { line: number; outcome: 'not_sent'; reason: string; eventId: string };

export interface BulkProgress {
  total: number;
  done: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  notSent: number;
  /** Events the API answered per second, since the start. */
  perSecond: number;
}

export interface SendOptions {
  apiUrl: string;
  secret: string;
  concurrency: number;
  /** At most this many events per second (unset: as fast as the API answers). */
  rate?: number;
  signal: AbortSignal;
  onProgress: (progress: BulkProgress) => void;
  /** Waits between retries of an unanswered event (tests shorten them). */
  retryDelaysMs?: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Raised when the API refuses the signature: every other line would be refused too. */
export class BulkAuthError extends Error {}

/**
 * Sends every line that became an event, `concurrency` at a time, and answers each line. An event the
 * API did not answer (connection refused, 5xx) is sent again, the same id, a few times; then it is
 * `not_sent`, and so is every line after it (the API is away: they wait for the next run, rather than
 * each trying for as long). After `signal` aborts, nothing new is sent; lines already under way
 * finish. A refused signature stops the sending too: every line after it is `not_sent` with that reason.
 */
export async function sendBulk(lines: BulkLine[], options: SendOptions): Promise<LineResult[]> {
  const signer = new Signer(options.secret);
  const retryDelaysMs = options.retryDelaysMs ?? [500, 1_000, 2_000, 4_000, 8_000];
  const results: LineResult[] = [];
  const progress: BulkProgress = { total: lines.length, done: 0, accepted: 0, duplicate: 0, rejected: 0, notSent: 0, perSecond: 0 };
  const started = Date.now();
  const record = (result: LineResult) => {
    results.push(result);
    progress.done += 1;
    if (result.outcome === 'accepted') progress.accepted += 1;
    else if (result.outcome === 'duplicate') progress.duplicate += 1;
    else if (result.outcome === 'rejected') progress.rejected += 1;
    else progress.notSent += 1;
    progress.perSecond = progress.done / Math.max(0.001, (Date.now() - started) / 1000);
    options.onProgress({ ...progress });
  };

  const queue = [...lines];
  let sent = 0;
  let authError: BulkAuthError | undefined;
  /** Set once a line went unanswered through all its tries: the API is away, so the rest wait for the next run. */
  let unanswered: string | undefined;
  const sendOne = async (line: Extract<BulkLine, { eventId: string }>): Promise<LineResult> => {
    let lastError = '';
    for (let attempt = 0; attempt <= retryDelaysMs.length; attempt += 1) {
      if (attempt > 0) {
        if (options.signal.aborted) break;
        await sleep(retryDelaysMs[attempt - 1] ?? 0);
      }
      let status: number;
      let text: string;
      try {
        const response = await fetch(`${options.apiUrl}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signer.sign(line.eventId, line.body) },
          body: line.body,
        });
        status = response.status;
        text = await response.text();
      } catch (err) {
        lastError = `the API did not answer (${networkCause(err)})`;
        continue;
      }
      const base = { line: line.line, eventId: line.eventId, ...(line.refundId !== undefined && { refundId: line.refundId }) };
      if (status === 202) return { ...base, outcome: 'accepted' };
      if (status === 200) return { ...base, outcome: 'duplicate' };
      if (status === 401) throw new BulkAuthError(`the API refused the signature (401): check --secret / INGEST_WEBHOOK_SECRET`);
      if (status >= 500 || status === 429) {
        lastError = `the API answered ${status}`;
        continue;
      }
      return { line: line.line, eventId: line.eventId, outcome: 'rejected', reason: `${status}: ${apiReason(text)}` };
    }
    return { line: line.line, eventId: line.eventId, outcome: 'not_sent', reason: `${lastError}; run the file again to send it` };
  };

  await Promise.all(
    Array.from({ length: Math.max(1, options.concurrency) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (next.kind === 'bad') {
          record({ line: next.line, outcome: 'rejected', reason: next.problem });
          continue;
        }
        if (options.signal.aborted || authError || unanswered) {
          const reason = authError
            ? authError.message
            : unanswered
              ? `not tried: ${unanswered} for an earlier line; run the file again to send it`
              : 'interrupted before it was sent; run the file again to send it';
          record({ line: next.line, eventId: next.eventId, outcome: 'not_sent', reason });
          continue;
        }
        if (options.rate) {
          const at = started + (sent / options.rate) * 1000;
          sent += 1;
          if (at > Date.now()) await sleep(at - Date.now());
        }
        try {
          const result = await sendOne(next);
          if (result.outcome === 'not_sent') unanswered ??= result.reason.replace(/; run the file again to send it$/, '');
          record(result);
        } catch (err) {
          if (!(err instanceof BulkAuthError)) throw err;
          authError = err;
          record({ line: next.line, eventId: next.eventId, outcome: 'not_sent', reason: err.message });
        }
      }
    }),
  );
  return results.sort((a, b) => a.line - b.line);
}

/** Why a fetch got no answer, in a word: ECONNREFUSED, ENOTFOUND, … (fetch wraps it in its cause). */
export function networkCause(err: unknown): string {
  const detail = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  return detail?.code ?? detail?.errors?.[0]?.code ?? detail?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The API's own words: its error and each field problem. */
function apiReason(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: string; problems?: Array<{ field: string; problem: string }> };
    const problems = body.problems?.map((p) => `${p.field} ${p.problem}`).join('; ');
    return [body.error, problems].filter(Boolean).join(': ') || text;
  } catch {
    return text.slice(0, 300);
  }
}
