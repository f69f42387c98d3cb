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

/** What ended a command, on stderr: the message for people, or with --json one line `{ error, exitCode, …details }`. */
export function printError(json: boolean, err: CliError): void {
  if (json) {
    console.error(JSON.stringify({ error: err.message, exitCode: err.exitCode, ...err.details }));
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
  ];
  return [`${r.refundId}  ${r.status}`, ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k.padEnd(9)}  ${v}`)].join('\n');
}

/** One line of `list`: id, status, amount, last update, order, and the error code when there is one. */
export function refundLine(r: RefundView): string {
  return [r.refundId.padEnd(24), r.status.padEnd(18), formatNtd(r.amount).padStart(12), ` ${r.updatedAt}`, ` ${r.orderId}`, ...(r.error ? [` ${r.error.code}`] : [])].join(' ');
}
