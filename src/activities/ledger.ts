import { needsApproval, type RefundPolicy, type RunPolicy } from '../domain/policy.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { refundRequested, type RefundRequested } from '../domain/schemas/refund-request.js';
import type { RequestGate } from '../ledger/acceptance.js';
import type { OpenResult, RefundLedger } from '../ledger/refunds.js';
import type { SubscriptionLedger, UnconfirmedSubscriptionCancel } from '../ledger/subscriptions.js';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import { finalErrorTypes, refusalTypes } from '../providers/final-error-types.js';
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { mayFollowRun } from '../domain/refund-start.js';
import type { OenRefundRequested } from '../domain/schemas/refund-request.js';
import { throughTemporal } from '../domain/actor.js';
import { codes, type NotRequested } from '../domain/failures.js';
import { AuditTrail, type AuditEntry } from '../ledger/audit.js';
import { ledgerCall } from './failures.js';
import { parsedInput } from './input.js';

export interface LedgerActivityDeps {
  ledger: RefundLedger;
  /** What lets a run reach a provider: a request the intake accepted (money-safety rule 8). */
  gate: RequestGate;
  subscriptions: SubscriptionLedger;
  policy: RefundPolicy;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

/**
 * How a run opens its refund. `submitUnlessApproval`: a refund that needs no approver is claimed for
 * submission (moved to `submitting`, naming the run) in the same step, and the answer says so
 * (`submitting`); the run then sends it without a step of its own to record the claim. Only a refund
 * this step opened as `received` is claimed: one found further on (an attempt after one whose answer
 * was lost, a Reset) is answered as it is, and the run takes its steps as before.
 */
export interface OpenOptions {
  submitUnlessApproval?: boolean;
}

export function createLedgerActivities({ ledger, gate, subscriptions, policy, metrics = noMetrics }: LedgerActivityDeps) {
  const runPolicy: RunPolicy = { ...policy, failureTypes: { final: finalErrorTypes, refusals: refusalTypes } };
  const audit = new AuditTrail(ledger.db);
  /** A Temporal Cancel request this run met, in the audit trail once: through Temporal, by a person unknown, naming the run. */
  const auditTemporalCancel = (refundId: string, what: Pick<AuditEntry, 'outcome' | 'statusBefore' | 'statusAfter' | 'reason'>): Promise<void> => {
    const run = Context.current().info.workflowExecution;
    return audit.appendOnce({
      actor: throughTemporal,
      action: 'refund.cancel',
      refundId,
      ...what,
      detail: { via: 'a Temporal Cancel request', workflowId: run?.workflowId, runId: run?.runId },
      requestId: run?.runId ?? refundId,
    });
  };
  /**
   * A refund run's move, counted. A claim (`submitting`) names the run that makes it: reconciliation
   * leaves the refund to that run while it is open.
   */
  const runMove = async (refundId: string, status: RefundStatus, fields: TransitionFields = {}): Promise<RefundRecord> => {
    const claimant = status === 'submitting' ? Context.current().info.workflowExecution : undefined;
    const record = await ledgerCall(() => ledger.transition(refundId, status, fields, claimant));
    metrics.refundStatus(record);
    return record;
  };
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

    /**
     * A refund run's move. One a Temporal Cancel request made (CancelRequested) is written to the audit
     * trail too, as done through Temporal by a person unknown: Temporal does not say who sent it.
     */
    recordStatus: async (refundId: string, status: RefundStatus, fields: TransitionFields = {}): Promise<RefundRecord> => {
      const record = await runMove(refundId, status, fields);
      if (fields.error?.code === codes.CancelRequested)
        await auditTemporalCancel(refundId, { outcome: 'done', statusAfter: record.status, reason: fields.error.message });
      return record;
    },

    /**
     * A Temporal Cancel request that came once the refund was being sent, and was not obeyed (the run
     * settled the refund): in the audit trail as refused, through Temporal, by a person unknown.
     */
    noteCancelNotObeyed: (refundId: string, statusAfter: RefundStatus): Promise<void> =>
      auditTemporalCancel(refundId, {
        outcome: 'refused',
        statusBefore: 'submitting',
        statusAfter,
        reason: 'a Temporal Cancel request came while the refund was being sent: not obeyed, the run settled the refund',
      }),

    /**
     * Whether an order's refund of a transaction may follow the run already under the transaction's
     * workflow id: the rule a client's start follows (mayFollowRun) — a completed run of a refund the
     * ledger closed without a refund (failed, cancelled, resolved failed) — read from Temporal here.
     */
    mayFollowRefundRun: async (workflowId: string, request: OenRefundRequested): Promise<boolean> => {
      try {
        const { status, memo } = await Context.current().client.workflow.getHandle(workflowId).describe();
        return await mayFollowRun({ status: status.name, memo }, request, (r, earlier) => ledgerCall(() => ledger.mayFollow(r.transactionHid, earlier)));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },

    /** The worker's settings and the providers' failure types, read by a run once (a local activity: recorded in history). */
    refundPolicy: (): Promise<RunPolicy> => Promise.resolve(runPolicy),

    /**
     * A refund run's first step (a local activity): the request validated against its schema (a run
     * started by hand may carry anything), the run's policy, and, for a request the intake accepted
     * (the gate: `parentWorkflowId` names the order.cancelled run that started a refund of an order's
     * transaction), the refund opened in the ledger, owned by this run. A run without one opens
     * nothing: it is answered `notRequested`, and the audit trail has it.
     */
    openRefund: async (
      request: RefundRequested,
      workflowId: string,
      runId: string,
      parentWorkflowId?: string,
      options: OpenOptions = {},
    ): Promise<{ policy: RunPolicy; opened: OpenResult | NotRequested; submitting?: true }> => {
      const valid = parsedInput(refundRequested, request, 'refund request');
      const passed = await ledgerCall(() => gate.refund(valid, { workflowId, runId, parentWorkflowId }));
      if ('notRequested' in passed) return { policy: runPolicy, opened: passed };
      const opened = await ledgerCall(() => ledger.open(valid, workflowId, runId));
      if (!options.submitUnlessApproval || !('opened' in opened) || opened.opened.status !== 'received' || needsApproval(runPolicy, valid.amount))
        return { policy: runPolicy, opened };
      // The run's claim, as its own step would write it (recordStatus): recorded before anything is sent.
      return { policy: runPolicy, opened: { opened: await runMove(valid.refundId, 'submitting') }, submitting: true };
    },
  };
}
