import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { providerCallSummary } from '../domain/format.js';
import { refundRequestProblems } from '../domain/guards.js';
import { oneRefundPerTransaction } from '../domain/refund-start.js';
import { needsApproval, type RunPolicy } from '../domain/policy.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';
import { decisionMessage, OperatorDecisions, type Decision } from './decisions.js';
import { submitRefund } from './provider-calls.js';
import { RefundView } from './refund-view.js';
import { ledgerStep, tellOrderManagement } from './steps.js';
import { checkInput, notRequestedFailure } from './validation.js';
import { codes, type RecordError } from '../domain/failures.js';
import type { DecisionRecord } from '../domain/operator.js';

type Opened = Awaited<ReturnType<ReturnType<typeof ledgerStep>['openRefund']>>['opened'];

/**
 * Marks runs that take fewer steps (histories from before replay as they ran): a refund that needs no
 * approver is claimed for submission as it opens, and the provider call records the refund's end.
 */
const FEWER_STEPS_PATCH = 'refund-fewer-steps';

/**
 * One refund, exactly once: validate → open in the ledger → (await an approver's decision) → claim it
 * (`submitting`) → submit to the provider → record the end → tell order management. A refund that
 * fails or is cancelled closes the run failed, with its record; one that succeeded or needs a person
 * closes it completed, with the record. Since FEWER_STEPS_PATCH the claim is made in the opening step
 * when no approver is needed and no decision is waiting, and the end in the provider call's: a refund
 * takes two steps where it took four (three activations of the workflow where it took five), in the
 * same order: recorded, then sent; answered, then recorded.
 */
export async function refundWorkflow(input: RefundRequested): Promise<RefundRecord> {
  const request = checkInput(input, refundRequestProblems(input), 'refund request');
  const view = new RefundView(request);
  const decisions = new OperatorDecisions(request, view.progress);
  const record = async (status: RefundStatus, fields: TransitionFields = {}) =>
    view.show(await ledgerStep(`Ledger: ${request.refundId} → ${status}`).recordStatus(request.refundId, status, fields));

  // Open: not cancellable, so a Temporal Cancel request finds the refund in the ledger to end it. A
  // cancel that reached the run before it (its worker away), or a Temporal Cancel, keeps the claim out
  // of this step: it is checked against the policy first, as it always was.
  const { workflowId, runId, parent } = workflowInfo();
  const fewerSteps = patched(FEWER_STEPS_PATCH);
  const claimAsItOpens = fewerSteps && !decisions.pending() && !CancellationScope.current().consideredCancelled;
  const { policy, opened, submitting } = await CancellationScope.nonCancellable(() =>
    ledgerStep(`Ledger: open refund ${request.refundId}${claimAsItOpens ? ' → submitting (unless it needs approval)' : ''}`).openRefund(
      request,
      workflowId,
      runId,
      parent?.workflowId,
      ...(claimAsItOpens ? [{ submitUnlessApproval: true }] : []),
    ),
  );
  if ('notRequested' in opened) throw notRequestedFailure(opened);
  // A refund id ends once: a second run of a settled one closes as the first did, sending and telling nothing.
  if ('settled' in opened) return closeRun(view.show(opened.settled), false);
  if (!('opened' in opened)) throw refusedOpen(opened);

  // From the claim on the provider may act: a cancel is refused, and a Temporal Cancel request is not
  // obeyed — the run submits, records and tells, whatever is asked of it meanwhile.
  const run = CancellationScope.current();
  const send = (claim: { kind: 'made' } | { kind: 'toMake'; decided: DecisionRecord[] }) =>
    CancellationScope.nonCancellable(async () => {
      if (claim.kind === 'toMake') await record('submitting', claim.decided.length > 0 ? { decisions: claim.decided } : {});
      const summary = providerCallSummary(request);
      const ended = await (fewerSteps
        ? submitRefund(request, policy, `${summary}, its end recorded in the ledger`, { recordEnd: true })
        : submitRefund(request, policy, summary));
      // Recorded histories from before this note replay without it.
      if (run.consideredCancelled && patched('audit-cancel-not-obeyed')) {
        await ledgerStep(`Audit: a Temporal Cancel of ${request.refundId} not obeyed`).noteCancelNotObeyed(
          request.refundId,
          ended.record?.status ?? ended.status,
        );
      }
      return closeRun(ended.record ? view.show(ended.record) : await record(ended.status, ended.fields), true);
    });

  if (submitting) {
    // Claimed as it opened. Set before the policy: a cancel that came meanwhile is refused, too late.
    decisions.submissionStarts();
    decisions.usePolicy(policy);
    view.show(opened.opened);
    return send({ kind: 'made' });
  }
  decisions.usePolicy(policy);
  const { stop, decided } = await awaitGoAhead(request, policy, decisions, record);
  if (stop) return CancellationScope.nonCancellable(async () => closeRun(await record('cancelled', { error: stop, decisions: decided }), true));
  decisions.submissionStarts();
  return send({ kind: 'toMake', decided });
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
    if (!needsApproval(policy, request.amount)) {
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
