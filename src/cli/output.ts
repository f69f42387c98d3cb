import { formatNtd } from '../domain/format.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { CliContext } from './api.js';
import type { CliError } from './exit-codes.js';

/** A refund as the API gives it: the ledger's record and its Web UI link. */
export type RefundView = RefundRecord & { uiUrl?: string };

/** A command's answer on stdout: `value` as JSON with --json, else `human()`. */
export function print(ctx: Pick<CliContext, 'json'>, value: unknown, human: () => string): void {
  console.log(ctx.json ? JSON.stringify(value, null, 2) : human());
}

/**
 * What ended a command, on stderr: the message for people (a usage error ends with "; see --help",
 * never the help itself), or with --json one line `{ error, exitCode, …details }`.
 */
export function printError(json: boolean, err: CliError): void {
  if (json) {
    console.error(JSON.stringify({ error: err.message, exitCode: err.exitCode, ...err.details }));
    return;
  }
  if (err.reason === 'usage') {
    console.error(`${err.message}; see --help`);
    return;
  }
  const { httpStatus, problems, credentialFrom } = err.details as {
    httpStatus?: number;
    problems?: Array<{ field: string; problem: string }>;
    credentialFrom?: string;
  };
  console.error(
    [
      `${httpStatus !== undefined ? `${httpStatus}: ` : ''}${err.message}`,
      ...(problems ?? []).map((p) => `  ${p.field}: ${p.problem}`),
      ...(credentialFrom !== undefined ? [`  (the credential sent came from ${credentialFrom})`] : []),
    ].join('\n'),
  );
}

export function describeRefund(r: RefundView): string {
  const rows: Array<[string, string | undefined]> = [
    ['provider', r.provider === 'oen' ? `oen (transaction ${r.transactionHid ?? '?'})` : 'mwd'],
    ['order', r.orderId],
    ['amount', formatNtd(r.amount)],
    ['attempts', String(r.attempts)],
    ['reference', r.providerReference],
    ['error', r.error ? `${r.error.code} — ${r.error.message}` : undefined],
    ['updated', r.updatedAt],
    ['Web UI', r.uiUrl],
    ['next', nextStep(r)],
  ];
  return [`${r.refundId}  ${r.status}`, ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k.padEnd(9)}  ${v}`)].join('\n');
}

/**
 * What moves a refund that waits for a person, in one plain sentence with the command to paste:
 * an approver's decision, or a settlement of a refund in requires_attention (nothing is sent to the
 * provider on its own then: retry is Oen's only, and only while Oen shows it still charged).
 */
export function nextStep(r: Pick<RefundView, 'refundId' | 'status' | 'provider'>): string | undefined {
  const cli = 'npx refundflow';
  if (r.status === 'awaiting_approval') {
    return `an approver decides: \`${cli} approve ${r.refundId}\` sends it, \`${cli} reject ${r.refundId}\` ends it cancelled`;
  }
  if (r.status !== 'requires_attention') return undefined;
  const settle = `\`${cli} resolve ${r.refundId} succeeded --reference R --evidence E\` or \`… failed --evidence E\``;
  return r.provider === 'oen'
    ? `nothing more is sent to Oen until a person settles it: ${settle}, or \`… retry\` to send it again if Oen shows it still charged`
    : `nothing more is sent to MWD until a person settles it, on an approver's word: ${settle}`;
}

/** The columns of `list`, for its header row and each refund's line; fixed widths, so that pages printed as they come line up. */
const listColumns: ReadonlyArray<{ title: string; width: number; right?: boolean; value: (r: RefundView) => string }> = [
  { title: 'REFUND', width: 24, value: (r) => r.refundId },
  { title: 'STATUS', width: 18, value: (r) => r.status },
  { title: 'PROVIDER', width: 8, value: (r) => r.provider },
  { title: 'AMOUNT', width: 12, right: true, value: (r) => formatNtd(r.amount) },
  { title: 'UPDATED', width: 24, value: (r) => r.updatedAt },
  { title: 'ORDER', width: 20, value: (r) => r.orderId },
  { title: 'ERROR', width: 0, value: (r) => r.error?.code ?? '' },
];

function listRow(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const column = listColumns[i];
      return column?.right ? cell.padStart(column.width) : cell.padEnd(column?.width ?? 0);
    })
    .join('  ')
    .trimEnd();
}

/** The header row of `list`. */
export function listHeader(): string {
  return listRow(listColumns.map((c) => c.title));
}

/** One line of `list`: id, status, provider, amount, last update, order, and the error code when there is one. */
export function refundLine(r: RefundView): string {
  return listRow(listColumns.map((c) => c.value(r)));
}
