import { Context } from '@temporalio/activity';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import type { DecisionRecord } from '../domain/operator.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { ReconciliationLedger } from '../ledger/reconciliation.js';
import type { Decided, ResolutionLedger } from '../ledger/resolution.js';
import { ledgerCall } from './failures.js';
import { requestToSendAgain, type Resubmission } from './reconcile.js';

export interface ResolveActivityDeps {
  resolution: ResolutionLedger;
  reconciliation: Pick<ReconciliationLedger, 'originalRequest'>;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

/**
 * The ledger steps of a person's resolution of a refund in requires_attention
 * (src/workflows/resolve.ts; local activities). What Oen shows is asked with reconciliation's
 * `inspectOenRefunds`, and a retry is sent with the refund runs' `submitOenRefund`.
 */
export function createResolveActivities({ resolution, reconciliation, metrics = noMetrics }: ResolveActivityDeps) {
  return {
    /** The refund to resolve, as the ledger holds it now; undefined when it has none. */
    refundToResolve: async (refundId: string): Promise<RefundRecord | undefined> => resolution.get(refundId),

    /** What a person's retry sends: the request order management sent (requestToSendAgain), or why there is none. */
    retryRequest: async (record: RefundRecord): Promise<Resubmission> => requestToSendAgain(reconciliation, record),

    /**
     * The person's decision carried out, from requires_attention, if the refund is still as the run
     * read it (ResolutionLedger.decide). `confirmed`: Oen showed the refund.
     */
    recordResolution: async (
      before: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt' | 'version'>,
      to: RefundStatus,
      fields: TransitionFields & { decisions: DecisionRecord[] },
      confirmed: boolean,
    ): Promise<Decided> => {
      const claimant = to === 'submitting' ? Context.current().info.workflowExecution : undefined;
      const decided = await ledgerCall(() => resolution.decide(before, to, fields, confirmed, claimant));
      if (decided.moved) metrics.refundStatus(decided.record);
      return decided;
    },

    /** How the send a person asked for ended (ResolutionLedger.end). */
    recordResolutionEnd: async (refundId: string, to: RefundStatus, fields: TransitionFields): Promise<RefundRecord> => {
      const record = await ledgerCall(() => resolution.end(refundId, to, fields, Context.current().info.workflowExecution?.workflowId));
      metrics.refundStatus(record);
      return record;
    },
  };
}
