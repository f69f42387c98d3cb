import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { isLuhnValid } from '../../src/domain/pan.js';
import type { Queryable } from '../../src/ledger/database.js';
import type { Invariant } from './invariants.js';

/**
 * After a chaos run, the places data comes to rest — every workflow history (payloads read as
 * text), the engine's logs, every ledger table and every outcome event — searched for Luhn-valid
 * 13–19 digit numbers (money-safety rule 4) and for the configuration's secret values.
 */
export interface ScanSources {
  temporalConnection: ConnectionOptions;
  db: Queryable;
  /** The worker and API processes' output. */
  logs: string[];
  outcomeBodies: string[];
  /** Values from the configuration that must never be written anywhere. */
  secrets: string[];
}

/**
 * A card number, for the scan, is what payment networks issue: 13–19 digits (spaces or dashes
 * allowed) passing the Luhn check, beginning with a network's prefix — Visa 4, Mastercard 51–55 and
 * 2221–2720, Amex 34/37, JCB 35, Diners 300–305/36/38, UnionPay 62, Discover 6011/644–649/65 — and standing alone, not
 * inside an identifier (MWD's `MW2026…0020`, a UUID). Without the prefix rule every millisecond timestamp
 * that happens to pass Luhn (one in ten, e.g. in an outcome event's id) would count. The engine's
 * own masking (src/domain/pan.ts) is broader on purpose: it masks every Luhn-valid run.
 */
// Written whole, in fours (4-4-4-4, up to 19 digits) or as Amex/Diners do (4-6-5, 4-6-4); a UUID's
// digit groups (8-4-4…) are not a card number however they add up.
const standalone = /(?<![A-Za-z0-9-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5})(?![A-Za-z0-9-])/g;
const networkPrefix = /^(4|5[1-5]|2(22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|35|30[0-5]|36|38|62|6011|64[4-9]|65)/;

export function cardNumbersIn(text: string): string[] {
  return cardNumberMatches(text).map((m) => m.digits);
}

/** Each card number found, with the text around it (the number itself cut to its last four). */
function cardNumberMatches(text: string): Array<{ digits: string; context: string }> {
  return [...text.matchAll(standalone)]
    .map((m) => ({ m, digits: m[0].replace(/[ -]/g, '') }))
    .filter(({ digits }) => digits.length >= 13 && digits.length <= 19 && networkPrefix.test(digits) && isLuhnValid(digits))
    .map(({ m, digits }) => {
      const at = m.index;
      const context = `${text.slice(Math.max(0, at - 60), at)}****${digits.slice(-4)}${text.slice(at + m[0].length, at + m[0].length + 30)}`;
      return { digits, context };
    });
}

/** JSON of a history with every byte string (payload data and metadata) read as UTF-8 text. */
function readable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(readable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, readable(field)]));
  }
  return value;
}

async function histories(connectionOptions: ConnectionOptions): Promise<Array<{ workflowId: string; text: string }>> {
  const connection = await Connection.connect(connectionOptions);
  try {
    const client = new Client({ connection });
    const out: Array<{ workflowId: string; text: string }> = [];
    for await (const execution of client.workflow.list()) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      out.push({ workflowId: execution.workflowId, text: JSON.stringify(readable(history)) });
    }
    return out;
  } finally {
    await connection.close();
  }
}

async function ledgerTables(db: Queryable): Promise<Array<{ table: string; text: string }>> {
  const { rows } = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  );
  return Promise.all(
    rows.map(async ({ table_name }) => {
      const { rows: content } = await db.query<unknown>(`SELECT * FROM "${table_name}"`);
      return { table: table_name, text: JSON.stringify(content) };
    }),
  );
}

export async function scanForLeaks(sources: ScanSources): Promise<{ figures: string; invariants: Invariant[] }> {
  const places = [
    ...(await histories(sources.temporalConnection)).map(({ workflowId, text }) => ({ place: `history ${workflowId}`, text })),
    ...sources.logs.map((text, i) => ({ place: `log ${i + 1}`, text })),
    ...(await ledgerTables(sources.db)).map(({ table, text }) => ({ place: `ledger table ${table}`, text })),
    ...sources.outcomeBodies.map((text, i) => ({ place: `outcome event ${i + 1}`, text })),
  ];
  const count = (prefix: string) => places.filter((p) => p.place.startsWith(prefix)).length;
  const logLines = sources.logs.reduce((n, text) => n + text.split('\n').length, 0);
  const figure = `${count('history')} histories, ${logLines} log lines, ${count('ledger')} ledger tables, ${count('outcome')} outcome events`;

  const cards = places.flatMap(({ place, text }) => cardNumberMatches(text).map(({ digits, context }) => `${place}: ${digits.length} digits in …${context}…`));
  const secrets = places.flatMap(({ place, text }) =>
    sources.secrets
      .filter((secret) => text.includes(secret))
      .map((secret) => `${place}: a configured secret (${secret.length} characters, starts ${secret.slice(0, 4)}…)`),
  );
  return {
    figures: figure,
    invariants: [
      { name: 'no card number at rest', figure: `${cards.length} in ${figure}`, violations: cards },
      {
        name: 'no configured secret in logs, histories, ledger or events',
        figure: `${secrets.length} of ${sources.secrets.length} secrets found`,
        violations: secrets,
      },
    ],
  };
}
