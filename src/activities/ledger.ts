import type { RefundPolicy, RefundRecord, RefundRequested, RefundStatus } from '../domain/refund.js';
import type { OpenResult, RefundLedger, TransitionFields } from '../ledger/refunds.js';
import { SubscriptionLedger, type UnconfirmedSubscriptionCancel } from '../ledger/subscriptions.js';
import { noMetrics, type EngineMetrics } from '../metrics.js';
import { ledgerCall } from './failures.js';

export interface LedgerActivityDeps {
  ledger: RefundLedger;
  policy: RefundPolicy;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

export function createLedgerActivities({ ledger, policy, metrics = noMetrics }: LedgerActivityDeps) {
  const subscriptions = new SubscriptionLedger(ledger.db);
  return {
    /**
     * What an order.cancelled could not refund, kept for a person (RefundLedger.recordForPerson);
     * undefined when the ledger already has a record of it.
     */
    recordForPerson: async (request: RefundRequested, workflowId: string, error: { code: string; message: string }): Promise<RefundRecord | undefined> =>
      ledgerCall(() => ledger.recordForPerson(request, workflowId, error)),

    /** A subscription cancel Oen did not confirm, kept for a person; undefined when already kept. */
    recordUnconfirmedSubscriptionCancel: async (
      cancel: Omit<UnconfirmedSubscriptionCancel, 'recordedAt'>,
    ): Promise<UnconfirmedSubscriptionCancel | undefined> => subscriptions.recordUnconfirmed(cancel),

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
