import { mwdRows } from './mwd-rows.js';
import { oenRows } from './oen-rows.js';
import type { End, FaultRow } from './row.js';

/**
 * The fault model: every kind of answer a provider, or a proxy or gateway in front of it, can give to
 * each call, before and after the provider acted, and how the engine must end the refund (the rows:
 * oen-rows.ts, mwd-rows.ts). It is the test (test/fault-model/fault-table.test.ts runs every row
 * against the emulators over real HTTP, on the real Temporal dev server) and the documentation
 * (docs/providers.md, "The fault model", rendered from it by `npm run docs:fault-table` and checked
 * against it by the test).
 *
 * Whatever the row, three invariants hold: never refunded twice (no refund request reaches a
 * transaction or order already refunded); `failed` ⇒ not refunded; `succeeded` ⇒ refunded once, of
 * our amount. A row that breaks the first says so (`known`): a cost the engine cannot see coming,
 * shown with what an operator sees.
 */
export type { End, FaultRow } from './row.js';

export const faultTable: FaultRow[] = [...oenRows, ...mwdRows];

const endWords: Record<End, string> = { succeeded: 'succeeded', failed: '**failed**', requires_attention: 'requires_attention' };

function describeEnd(row: FaultRow): string {
  const sent = row.sends === 0 ? 'nothing sent' : row.sends === 1 ? 'sent once' : `sent ${row.sends} times${row.why ? ` (${row.why})` : ''}`;
  const retried = row.end === 'succeeded' && row.sends > 1 ? 'retried, then ' : '';
  const known = row.known
    ? `; **${row.known.resentToRefunded} resent to a refunded ${row.provider === 'oen' ? 'transaction' : 'order'}**, an operator sees ${row.known.operatorSees}`
    : '';
  return `${retried}${endWords[row.end]}${row.code ? ` (${row.code})` : ''}, ${sent}${known}`;
}

/** The table as docs/providers.md shows it. */
export function renderFaultTable(): string {
  const lines = [
    '| provider | call | answer | provider acted | end |',
    '|---|---|---|---|---|',
    ...faultTable.map(
      (row) =>
        `| ${row.provider === 'oen' ? 'Oen' : 'MWD'} | ${row.call} | ${row.answer.replaceAll('|', '\\|')} | ${row.acted ? 'yes' : 'no'} | ${describeEnd(row)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export const TABLE_START = '<!-- fault-table:start (rendered from test/fault-model/table.ts by `npm run docs:fault-table`) -->';
export const TABLE_END = '<!-- fault-table:end -->';
