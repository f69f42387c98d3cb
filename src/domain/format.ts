import type { RefundRequested } from './schemas/refund-request.js';

/** How a refund reads for a person: in the Web UI, in logs, in the CLI. No locale data (workflow code uses it). */

/** NT$1,000 style, without Intl (workflow code must not depend on the machine's locale data). */
export function formatNtd(amount: number): string {
  return `NT$${String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** The one line that names a refund in the Web UI and in logs: "Refund NT$1,000 · ORDER00001 · oen". */
export function refundSummary(request: Pick<RefundRequested, 'amount' | 'orderId' | 'provider'>): string {
  return `Refund ${formatNtd(request.amount)} · ${request.orderId} · ${request.provider}`;
}

/**
 * How a refund's provider call reads in the Web UI: "Oen refund P20240412CIK7KPPH NT$1,000", "MWD
 * refund order 202008170002 NT$55" (a run's submission; a resend adds why).
 */
export function providerCallSummary(refund: { provider: 'oen' | 'mwd'; orderId: string; amount: number; transactionHid?: string | undefined }): string {
  return refund.provider === 'oen'
    ? `Oen refund ${refund.transactionHid ?? '(none)'} ${formatNtd(refund.amount)}`
    : `MWD refund order ${refund.orderId} ${formatNtd(refund.amount)}`;
}

/** What a refund refunds, for a person: "Oen transaction P20240412CIK7KPPH", "MWD order 202008170002". */
export function refundTarget(refund: { provider: 'oen' | 'mwd'; orderId: string; transactionHid?: string | undefined }): string {
  return refund.provider === 'oen' ? `Oen transaction ${refund.transactionHid ?? '(none)'}` : `MWD order ${refund.orderId}`;
}
