import { formatNtd } from '../../domain/format.js';
import type { OenShows } from '../../domain/oen-shows.js';
import { notACardPayment } from '../../domain/order.js';
import type { OenTransaction } from './schemas.js';

/** The refund Oen's list is judged for: its transaction, the order it is listed under, its amount. */
export interface OenRefundJudged {
  transactionHid: string;
  orderId: string;
  amount: number;
}

/**
 * What Oen's own record of the transaction shows about our refund (money-safety rule 2: the check
 * before acting; rule 6: only "charged" proves no refund): refunded by our amount, still charged with
 * nothing refunded, or anything else — unexplained, for a person. The evidence is one line a person
 * can read ("Oen lists P… under order …: status "charged", NT$1,000 charged, nothing refunded").
 *
 * `cardPaymentsOnly` (the check of a refund's submission, which may send it): only a card payment
 * may be refunded through the API, so any other is unexplained. Judging Oen's answer to a refund of
 * ours, or a refund sent earlier, the payment method does not matter: Oen carried the refund out
 * whatever it says (or does not say).
 */
export function oenShows(
  transactions: readonly OenTransaction[],
  refund: OenRefundJudged,
  { cardPaymentsOnly = false } = {},
): Exclude<OenShows, { kind: 'unreachable' }> {
  const t = transactions.find((candidate) => candidate.id === refund.transactionHid);
  if (!t) return { kind: 'unexplained', evidence: `Oen does not list transaction ${refund.transactionHid} under order ${refund.orderId}` };
  const notCard = cardPaymentsOnly ? notACardPayment(t) : undefined;
  if (notCard !== undefined) return { kind: 'unexplained', evidence: notCard };
  if (t.status === 'refunded' || t.refundAmount > 0) {
    if (t.refundAmount === refund.amount) return { kind: 'refunded', evidence: describe(t) };
    return {
      kind: 'unexplained',
      evidence: `Oen shows ${formatNtd(t.refundAmount)} refunded on ${t.id} (status ${t.status}), but this refund is ${formatNtd(refund.amount)}`,
    };
  }
  if (t.status === 'charged') return { kind: 'charged', evidence: describe(t) };
  return { kind: 'unexplained', evidence: `Oen shows transaction ${t.id} as "${t.status}"` };
}

/** One line a person can read: what Oen lists for the transaction. */
function describe(t: OenTransaction): string {
  const refunded = t.refundAmount > 0 ? `, ${formatNtd(t.refundAmount)} refunded${t.refundedAt ? ` at ${t.refundedAt}` : ''}` : ', nothing refunded';
  return `Oen lists ${t.id} under order ${t.orderId}: status "${t.status}", ${formatNtd(t.amount)} charged${refunded}`;
}
