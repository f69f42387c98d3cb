import type { RefundPolicy, RefundRecord, RefundRequested, RefundStatus } from '../domain/refund.js';
import type { OpenResult, RefundLedger, TransitionFields } from '../ledger/refunds.js';
import { noMetrics, type EngineMetrics } from '../metrics.js';
import { ledgerCall } from './failures.js';

export interface LedgerActivityDeps {
  ledger: RefundLedger;
  policy: RefundPolicy;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

export function createLedgerActivities({ ledger, policy, metrics = noMetrics }: LedgerActivityDeps) {
  return {
    openRefund: async (request: RefundRequested, workflowId: string, runId?: string): Promise<OpenResult> =>
      ledgerCall(() => ledger.open(request, workflowId, runId)),

    recordStatus: async (refundId: string, status: RefundStatus, fields: TransitionFields = {}): Promise<RefundRecord> => {
      const record = await ledgerCall(() => ledger.transition(refundId, status, fields));
      metrics.refundStatus(record);
      return record;
    },

    /** The worker's settings, read by each run once (a local activity: recorded in history). */
    refundPolicy: (): Promise<RefundPolicy> => Promise.resolve(policy),

    /**
     * A run's first step (a local activity): the worker's settings, and the refund opened in the
     * ledger, owned by this run (`runId`: absent in histories recorded before it was passed).
     */
    beginRefund: async (request: RefundRequested, workflowId: string, runId?: string): Promise<{ policy: RefundPolicy; opened: OpenResult }> => ({
      policy,
      opened: await ledgerCall(() => ledger.open(request, workflowId, runId)),
    }),
  };
}
