import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { OenShows } from '../domain/oen-shows.js';
import type { ReconcilePolicy, ReconcileReport, Resubmission } from '../domain/reconcile.js';
import { notToSendAgain, type RunEnd } from '../domain/reconcile-decision.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { ApplyResult, ReconciliationLedger } from '../ledger/reconciliation.js';
import { ProviderError } from '../providers/errors.js';
import type { OenClient } from '../providers/oen/client.js';
import type { OenTransaction } from '../providers/oen/schemas.js';
import { oenShows } from '../providers/oen/shows.js';
import { throughTemporal } from '../domain/actor.js';
import type { AuditTrail } from '../ledger/audit.js';

export interface ReconcileActivityDeps {
  oen: OenClient;
  reconciliation: ReconciliationLedger;
  reconcile: ReconcilePolicy;
  audit: AuditTrail;
}

/**
 * The newest run of `workflowId` (a workflow id has one open run at most, and after a Reset it is not
 * the run the ledger names): its status and run id, or undefined when Temporal has none.
 */
async function newestRun(workflowId: string): Promise<{ status: string; runId: string } | undefined> {
  try {
    const { status, runId } = await Context.current().client.workflow.getHandle(workflowId).describe();
    return { status: status.name, runId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Whether the newest run of `workflowId` is open. (A newer run of another refund of the same Oen
 * transaction cannot be open while this refund is live: the ledger refuses it.)
 */
async function workflowOpen(workflowId: string): Promise<boolean> {
  return (await newestRun(workflowId))?.status === 'RUNNING';
}

export function createReconcileActivities({ oen, reconciliation, reconcile, audit }: ReconcileActivityDeps) {
  return {
    /** The worker's RECONCILE_* settings (a local activity: read once per run, recorded in history). */
    reconcilePolicy: (): Promise<ReconcilePolicy> => Promise.resolve(reconcile),

    /** The next page of Oen refunds to look at, after refund id `after`. */
    reconcileCandidates: async (input: { policy: ReconcilePolicy; after?: string; limit: number }): Promise<RefundRecord[]> => {
      const now = Date.now();
      return reconciliation.oenCandidates({
        submittingBefore: new Date(now - input.policy.submittingAfterSeconds * 1000),
        succeededSince: new Date(now - input.policy.succeededWithinDays * 86_400_000),
        ...(input.after !== undefined && { after: input.after }),
        limit: input.limit,
      });
    },

    /**
     * Asks Oen about a page of refunds: one list of transactions per order (under OEN_RATE_LIMIT),
     * each order on its own — an order Oen cannot list makes its refunds `unreachable`, not the page.
     */
    inspectOenRefunds: async (records: RefundRecord[]): Promise<Array<OenShows & { refundId: string }>> => {
      const context = Context.current();
      const byOrder = new Map<string, RefundRecord[]>();
      for (const record of records) byOrder.set(record.orderId, [...(byOrder.get(record.orderId) ?? []), record]);
      const evidence: Array<OenShows & { refundId: string }> = [];
      for (const [orderId, refunds] of byOrder) {
        context.heartbeat(`listing order ${orderId}`);
        let transactions: OenTransaction[];
        try {
          transactions = await oen.listTransactions(orderId, {
            signal: context.cancellationSignal,
            onRequest: () => context.heartbeat(`listing order ${orderId}`),
            onWait: () => context.heartbeat('waiting for the Oen rate limit'),
          });
        } catch (err) {
          if (!(err instanceof ProviderError)) throw err;
          for (const record of refunds) {
            evidence.push({ refundId: record.refundId, kind: 'unreachable', evidence: `Oen did not list order ${orderId}: ${err.message}` });
          }
          continue;
        }
        // Only the refund's state matters here: the payment method was checked before the first send,
        // and is checked again before any send again.
        for (const { refundId, transactionHid, orderId, amount } of refunds) {
          evidence.push({ refundId, ...oenShows(transactions, { transactionHid: transactionHid ?? '', orderId, amount }) });
        }
      }
      return evidence;
    },

    /** Moves a refund on the provider's evidence, if it is still as it was read (src/ledger/reconciliation.ts). */
    applyReconciliation: async (
      before: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt' | 'version'>,
      to: RefundStatus,
      fields: TransitionFields = {},
    ): Promise<ApplyResult> => reconciliation.apply(before, to, fields, to === 'submitting' ? Context.current().info.workflowExecution : undefined),

    /**
     * Whether a run that may be sending the refund is still open (a refund long in submitting may only be
     * waiting for its turn behind a burst): the refund's own run, and, given `refundId`, the run that
     * claimed it (a resolution's or another reconciliation's, sending it again). Asked of Temporal
     * with the worker's own client.
     */
    refundRunOpen: async (workflowId: string, refundId?: string): Promise<boolean> => {
      const claimant = refundId === undefined ? undefined : await reconciliation.claimant(refundId);
      const runs = claimant && claimant.workflowId !== workflowId ? [workflowId, claimant.workflowId] : [workflowId];
      for (const id of runs) if (await workflowOpen(id)) return true;
      return false;
    },

    /**
     * How the refund's run ended, if it did (asked of Temporal as `refundRunOpen` is); open while the
     * run that claimed the refund (a resolution's, a reconciliation's) is. A run terminated through
     * Temporal is written to the audit trail, once per run, as done by a person unknown: Temporal does
     * not say who terminated it.
     */
    refundRunEnd: async (refund: Pick<RefundRecord, 'refundId' | 'workflowId'>): Promise<RunEnd> => {
      const claimant = await reconciliation.claimant(refund.refundId);
      if (claimant && claimant.workflowId !== refund.workflowId && (await workflowOpen(claimant.workflowId))) return { open: true };
      const run = await newestRun(refund.workflowId);
      if (!run) return { open: false, ended: 'not found' };
      if (run.status === 'RUNNING') return { open: true };
      const ended = run.status.toLowerCase();
      if (ended === 'terminated') {
        await audit.appendOnce({
          actor: throughTemporal,
          action: 'refund.terminate',
          refundId: refund.refundId,
          outcome: 'done',
          reason: `run ${refund.workflowId} (${run.runId}) was terminated through Temporal before it settled the refund`,
          detail: { via: 'a Temporal Terminate', workflowId: refund.workflowId, runId: run.runId },
          requestId: run.runId,
        });
      }
      return { open: false, ended };
    },

    /** Oen's evidence on a refund left in requires_attention (src/ledger/reconciliation.ts). */
    attachReconcileEvidence: async (
      before: Pick<RefundRecord, 'refundId' | 'updatedAt' | 'version'>,
      error: { code: string; message: string },
    ): Promise<boolean> => reconciliation.attachEvidence(before, error),

    /** Succeeded refunds Oen showed refunded: not asked about again. */
    confirmRefunds: async (refundIds: string[]): Promise<void> => {
      await reconciliation.markConfirmed(refundIds);
    },

    /**
     * The request to send again (ReconciliationLedger.requestToSendAgain). None for a refund a person
     * resolved, nor after a mismatch (notToSendAgain), nor for a refund reconciliation already sent
     * again once.
     */
    resubmissionRequest: async (record: RefundRecord): Promise<Resubmission> => {
      const why = notToSendAgain(record);
      if (why !== undefined) return { impossible: why };
      if ((await reconciliation.resubmits(record.refundId)) > 0) {
        return { impossible: 'reconciliation sent it again once already, without a success: a person decides' };
      }
      return reconciliation.requestToSendAgain(record);
    },

    /** The next page of refunds a run may have left behind (src/ledger/reconciliation.ts, runEndedCandidates). */
    runEndedCandidates: async (input: { policy: ReconcilePolicy; after?: string; limit: number }) =>
      reconciliation.runEndedCandidates({
        before: new Date(Date.now() - input.policy.submittingAfterSeconds * 1000),
        ...(input.after !== undefined && { after: input.after }),
        limit: input.limit,
      }),

    /** MWD refunds nobody can settle by asking MWD. */
    mwdUnresolved: async (input: { policy: ReconcilePolicy; limit: number }) => {
      const { total, refunds } = await reconciliation.mwdUnresolved({
        submittingBefore: new Date(Date.now() - input.policy.submittingAfterSeconds * 1000),
        limit: input.limit,
      });
      return {
        total,
        refunds: refunds.map((r) => ({
          refundId: r.refundId,
          orderId: r.orderId,
          amount: r.amount,
          status: r.status,
          updatedAt: r.updatedAt,
          ...(r.error && { reason: `${r.error.code}: ${r.error.message}` }),
        })),
      };
    },

    saveReconcileReport: async (report: ReconcileReport): Promise<void> => reconciliation.saveReport(report),
  };
}
