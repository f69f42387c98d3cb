import type { RefundPolicy, RefundRecord, RefundRequested, RefundStatus } from '../domain/refund.js';
import type { OpenResult, RefundLedger, TransitionFields } from '../ledger/refunds.js';

export interface LedgerActivityDeps {
  ledger: RefundLedger;
  policy: RefundPolicy;
}

export function createLedgerActivities({ ledger, policy }: LedgerActivityDeps) {
  return {
    openRefund: async (request: RefundRequested, workflowId: string): Promise<OpenResult> => ledger.open(request, workflowId),

    recordStatus: async (refundId: string, status: RefundStatus, fields: TransitionFields = {}): Promise<RefundRecord> =>
      ledger.transition(refundId, status, fields),

    /** The worker's settings, read by each run once (a local activity: recorded in history). */
    refundPolicy: (): Promise<RefundPolicy> => Promise.resolve(policy),
  };
}
