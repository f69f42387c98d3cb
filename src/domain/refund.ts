import { z } from 'zod';
import { oenRefundRequest } from '../providers/oen/schemas.js';

/**
 * The `data` of a `refund.requested` event (ARCHITECTURE.md, "Inbound events"), the refund
 * statuses, and the refund record every reader sees (GET /v1/refunds/:refundId, the workflow's
 * result, the ledger row).
 */

export const refundIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"');

const orderId = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const amount = z
  .number({ error: 'must be a number' })
  .int('must be a whole number of NT$')
  .positive('must be a positive number of NT$')
  .max(100_000_000, 'must be at most NT$100,000,000');
const reason = z.string().max(500, 'must be at most 500 characters').optional();

export const oenRefundRequested = z
  .object({
    refundId: refundIdSchema,
    provider: z.literal('oen'),
    orderId,
    amount,
    reason,
    transactionHid: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be an Oen transaction HID, e.g. P20240412CIK7KPPH'),
    merchantId: oenRefundRequest.shape.merchantId,
    productDetails: oenRefundRequest.shape.productDetails,
    remitInfo: oenRefundRequest.shape.remitInfo,
  })
  .strict();

export const mwdRefundRequested = z
  .object({
    refundId: refundIdSchema,
    provider: z.literal('mwd'),
    orderId,
    amount,
    reason,
    cardToken: z.string().min(1, 'must not be empty').max(256),
  })
  .strict();

export const refundRequested = z.discriminatedUnion('provider', [oenRefundRequested, mwdRefundRequested], {
  error: 'provider must be "oen" or "mwd"',
});

export type RefundRequested = z.infer<typeof refundRequested>;
export type OenRefundRequested = z.infer<typeof oenRefundRequested>;
export type MwdRefundRequested = z.infer<typeof mwdRefundRequested>;

export const refundStatuses = [
  'received',
  'awaiting_approval',
  'submitting',
  'succeeded',
  'failed',
  'requires_attention',
  'cancelled',
] as const;
export const refundStatus = z.enum(refundStatuses);
export type RefundStatus = z.infer<typeof refundStatus>;

/** Statuses after which a refund of the same Oen transaction may be tried again. */
export const closedWithoutRefund: readonly RefundStatus[] = ['failed', 'cancelled'];

/** Statuses with nothing left to do. `requires_attention` is not one: a person, or reconciliation, must act. */
export const finalStatuses: readonly RefundStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * Where each status may be reached from. `received` is reached only by opening a refund (again,
 * after it failed or was cancelled); `succeeded` is final.
 */
export const allowedPredecessors: Record<RefundStatus, readonly RefundStatus[]> = {
  received: [],
  awaiting_approval: ['received'],
  submitting: ['received', 'awaiting_approval'],
  succeeded: ['submitting', 'requires_attention'],
  failed: ['received', 'submitting', 'requires_attention'],
  requires_attention: ['submitting'],
  cancelled: ['received', 'awaiting_approval'],
};

export const refundRecord = z.object({
  refundId: refundIdSchema,
  provider: z.enum(['oen', 'mwd']),
  orderId: z.string(),
  transactionHid: z.string().optional(),
  amount: z.number().int(),
  status: refundStatus,
  providerReference: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().optional(),
  workflowId: z.string(),
  /** The run that owns the refund: operator decisions are sent to it. */
  runId: z.string().optional(),
  /** Counts every write of the ledger row: whoever moves it checks it is still as read. */
  version: z.number().int().nonnegative().optional(),
});

export type RefundRecord = z.infer<typeof refundRecord>;

/** What a provider activity concludes. Provider refusals are not outcomes: they fail the activity. */
export type ProviderOutcome =
  | { outcome: 'succeeded'; providerReference: string; note?: string }
  /** The provider's state contradicts ours, or the outcome is unknown and cannot be checked. */
  | { outcome: 'requires_attention'; code: string; reason: string };

/** The engine's settings a refund run needs; the worker reads them from its configuration. */
export interface RefundPolicy {
  /** NT$; unset: no refund waits for approval. */
  approvalThreshold?: number;
  approvalTimeoutMs: number;
  /** After this long of retrying a provider call, the refund goes to requires_attention. */
  retryWindowMs: number;
}

/** NT$1,000 style, without Intl (workflow code must not depend on the machine's locale data). */
export function formatNtd(amount: number): string {
  return `NT$${String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** The one line that names a refund in the Web UI and in logs: "Refund NT$1,000 · ORDER00001 · oen". */
export function refundSummary(request: Pick<RefundRequested, 'amount' | 'orderId' | 'provider'>): string {
  return `Refund ${formatNtd(request.amount)} · ${request.orderId} · ${request.provider}`;
}

/**
 * One run per Oen transaction: the workflow id is the transaction's, so Temporal itself refuses a
 * second open or successful run for it (money-safety rule 1). MWD refunds key on the refund id.
 * Neither carries personal data.
 */
export function refundWorkflowId(request: RefundRequested): string {
  return request.provider === 'oen' ? `oen-refund-${request.transactionHid}` : `mwd-refund-${request.refundId}`;
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
