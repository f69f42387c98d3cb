import type { RefundRecord } from './schemas/refund-record.js';

/** What an `order.cancelled` run does and reports (src/workflows/refund-order.ts). */

/** A transaction of the order the engine did not refund, and why. */
export interface NotRefunded {
  transactionHid: string;
  status: 'requires_attention' | 'skipped';
  reason: string;
}

export interface OrderRefundResult {
  orderId: string;
  /** The refund runs this order's cancellation started, each as it ended. */
  refunds: RefundRecord[];
  notRefunded: NotRefunded[];
  /** `requires_attention` (with the reason) when the cancel could not be confirmed. */
  subscription?: { id: string; status: string; reason?: string };
}

/** The refund id of one transaction of a cancelled order: `<orderId>:<transactionHid>`. */
export function orderRefundId(orderId: string, transactionHid: string): string {
  return `${orderId}:${transactionHid}`;
}

/**
 * Why an Oen transaction cannot be refunded through the API, or undefined for a card payment. Only
 * card payments can; ATM/CVS ones, and any Oen does not say how it was paid, go to a person.
 */
export function notACardPayment(t: { id: string; paymentInfo?: { method?: string } | undefined }): string | undefined {
  const method = t.paymentInfo?.method;
  if (method === 'card') return undefined;
  if (method === undefined) return `Oen does not say how transaction ${t.id} was paid: only card payments can be refunded through the API`;
  return `transaction ${t.id} was paid by ${method}: ATM/CVS payments must be refunded by a person in Oen's CRM back office`;
}
