import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { providerCallSummary } from '../domain/format.js';
import { refundRequestProblems } from '../domain/guards.js';
import { oneRefundPerTransaction } from '../domain/refund-start.js';
import type { RunPolicy } from '../domain/policy.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';
import { decisionMessage, OperatorDecisions, type Decision } from './decisions.js';
import type { RefundEnd } from '../domain/provider-call.js';
import { submitRefund } from './provider-calls.js';
import { RefundView } from './refund-view.js';
import { ledgerStep, tellOrderManagement } from './steps.js';
import { checkInput, notRequestedFailure } from './validation.js';
import { codes, type RecordError } from '../domain/failures.js';
import type { DecisionRecord } from '../domain/operator.js';

type Opened = Awaited<ReturnType<ReturnType<typeof ledgerStep>['openRefund']>>['opened'];

/**
 * One refund, exactly once: validate → open in the ledger → (await an approver's decision) → submit
 * to the provider → record the end → tell order management. A refund that fails or is cancelled closes
 * the run failed, with its record; one that succeeded or needs a person closes it completed, with the record.
 */
export async function refundWorkflow(input: RefundRequested): Promise<RefundRecord> {
  const request = checkInput(input, refundRequestProblems(input), 'refund request');
  const view = new RefundView(request);
  const decisions = new OperatorDecisions(request, view.progress);
  const record = async (status: RefundStatus, fields: TransitionFields = {}) =>
    view.show(await ledgerStep(`Ledger: ${request.refundId} → ${status}`).recordStatus(request.refundId, status, fields));
  /** Records the end, tells order management, and closes the run as the refund ended. */
  const settle = async ({ status, fields }: RefundEnd) => closeRun(await record(status, fields), true);

  // Open: not cancellable, so a Temporal Cancel request finds the refund in the ledger to end it.
  const { workflowId, runId, parent } = workflowInfo();
  const { policy, opened } = await CancellationScope.nonCancellable(() =>
    ledgerStep(`Ledger: open refund ${request.refundId}`).openRefund(request, workflowId, runId, parent?.workflowId),
  );
  if ('notRequested' in opened) throw notRequestedFailure(opened);
  // A refund id ends once: a second run of a settled one closes as the first did, sending and telling nothing.
  if ('settled' in opened) return closeRun(view.show(opened.settled), false);
  if (!('opened' in opened)) throw refusedOpen(opened);
  decisions.usePolicy(policy);

  const { stop, decided } = await awaitGoAhead(request, policy, decisions, record);
  if (stop) return CancellationScope.nonCancellable(() => settle({ status: 'cancelled', fields: { error: stop, decisions: decided } }));

  // From here on the provider may act: a cancel is refused, and a Temporal Cancel request is not
  // obeyed — the run submits, records and tells, whatever is asked of it meanwhile.
  decisions.submissionStarts();
  const run = CancellationScope.current();
  return CancellationScope.nonCancellable(async () => {
    await record('submitting', decided.length > 0 ? { decisions: decided } : {});
    const ended = await submitRefund(request, policy, providerCallSummary(request));
    // Recorded histories from before this note replay without it.
    if (run.consideredCancelled && patched('audit-cancel-not-obeyed')) {
      await ledgerStep(`Audit: a Temporal Cancel of ${request.refundId} not obeyed`).noteCancelNotObeyed(request.refundId, ended.status);
    }
    return settle(ended);
  });
}

/**
 * Above the approval threshold, waits for an approver (two, above the dual threshold). Answers the
 * decisions made (who approved, rejected or cancelled, for the ledger) and, when the refund ends
 * cancelled, why: rejected, cancelled by an operator or through Temporal, or not approved in time.
 */
async function awaitGoAhead(
  request: RefundRequested,
  policy: RunPolicy,
  decisions: OperatorDecisions,
  record: (status: RefundStatus) => Promise<RefundRecord>,
): Promise<{ stop?: RecordError; decided: DecisionRecord[] }> {
  const stopped = (decision: Decision) => ({
    stop: { code: decision.kind === 'reject' ? codes.Rejected : codes.Cancelled, message: decisionMessage(decision) },
    decided: decision.records,
  });
  try {
    if (policy.approvalThreshold === undefined || request.amount < policy.approvalThreshold) {
      const decision = await decisions.decided();
      return decision?.kind === 'cancel' ? stopped(decision) : { decided: [] };
    }
    decisions.awaitingApproval();
    await record('awaiting_approval');
    const decision = await decisions.awaitDecision(policy.approvalTimeoutMs);
    if (!decision)
      return { stop: { code: codes.ApprovalTimeout, message: `not approved within ${Math.round(policy.approvalTimeoutMs / 1000)} seconds` }, decided: [] };
    return decision.kind === 'approve' ? { decided: decision.records } : stopped(decision);
  } catch (err) {
    // Temporal's own Cancel before anything was sent: the refund ends cancelled, as the update would.
    if (isCancellation(err))
      return {
        stop: { code: codes.CancelRequested, message: 'cancelled through Temporal (a workflow Cancel request), person unknown, before it was sent' },
        decided: [],
      };
    throw err;
  }
}

/**
 * Closes the run as the refund ended, telling order management first when the end is new: failed and
 * cancelled refunds fail the run (with the record in the failure's details, so a new run may follow
 * a failed one); succeeded and requires_attention complete it with the record.
 */
async function closeRun(record: RefundRecord, tell: boolean): Promise<RefundRecord> {
  if (tell) await tellOrderManagement(record);
  const reason = record.error ? `: ${record.error.message}` : '';
  if (record.status === 'failed') throw ApplicationFailure.nonRetryable(`Refund ${record.refundId} failed${reason}`, codes.RefundFailed, record);
  if (record.status === 'cancelled') throw ApplicationFailure.nonRetryable(`Refund ${record.refundId} cancelled${reason}`, codes.RefundCancelled, record);
  return record;
}

/** Why the ledger would not let this run open the refund: another run or refund owns it. */
function refusedOpen(opened: Exclude<Opened, { opened: unknown } | { settled: unknown } | { notRequested: string }>): ApplicationFailure {
  if ('conflict' in opened) {
    const existing = opened.conflict;
    return ApplicationFailure.nonRetryable(`Refused: ${oneRefundPerTransaction(existing.transactionHid ?? '(none)', existing)}`, codes.DuplicateRefund, {
      existingRefundId: existing.refundId,
      existingStatus: existing.status,
    });
  }
  if ('inFlight' in opened) {
    const existing = opened.inFlight;
    return ApplicationFailure.nonRetryable(
      `Refused: refund ${existing.refundId} is already ${existing.status} under workflow ${existing.workflowId}; that run owns it`,
      codes.DuplicateRefund,
      { existingRefundId: existing.refundId, existingStatus: existing.status, existingWorkflowId: existing.workflowId },
    );
  }
  return ApplicationFailure.nonRetryable(`Refused: ${opened.reason}`, codes.RefundRequestConflict, {
    existingRefundId: opened.differs.refundId,
    existingStatus: opened.differs.status,
  });
}
