import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import {
  formatNtd,
  refundRequested,
  refundSummary,
  type ProviderOutcome,
  type RefundRecord,
  type RefundRequested,
  type RefundStatus,
} from '../domain/refund.js';
import { OrderId, RefundAmount, RefundProvider, RefundStatus as RefundStatusKey, TransactionHid } from '../domain/search-attributes.js';
import type { TransitionFields } from '../ledger/refunds.js';
import {
  approveUpdate,
  cancelUpdate,
  operatorInput,
  rejectUpdate,
  statusQuery,
  type OperatorInput,
  type RefundProgress,
} from './messages.js';
import { providerCallEnd, providerCalls, refundPolicy } from './provider-calls.js';
import { parseWorkflowInput } from './validation.js';

/**
 * Outcome events are retried until the receiver takes them, at most a minute apart: the run stays
 * open meanwhile, and the Web UI shows the pending delivery and its last error.
 */
export const outcomeEvents = (summary: string) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
    summary,
  });

/** The ledger is ours: retry until it answers. `summary` names the step in the Web UI. */
const ledgerRetry = { initialInterval: '1 second', maximumInterval: '30 seconds' } as const;
const ledger = (summary: string) => proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: ledgerRetry, summary });

/**
 * Runs started since the `local-steps` patch write the ledger and deliver the outcome as local
 * activities: run by the worker inside the workflow task, one history event each and no round trip
 * through the task queue (a refund's happy path is 19 events instead of 41, docs/performance.md). Each
 * ledger write is idempotent (the same status again changes nothing; opening again is a no-op for the
 * run that owns the refund), so a local activity's at-least-once execution is as safe as an activity's.
 */
export const localLedger = (summary: string) => proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: ledgerRetry, summary });

/**
 * An outcome event is first tried as a local activity, a few times; if the receiver is still not
 * taking it, delivery goes on as an activity (retried until delivered, shown pending in the Web UI).
 * Both use the same delivery id.
 */
const localOutcome = (summary: string) =>
  proxyLocalActivities<Activities>({
    startToCloseTimeout: '15 seconds',
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumAttempts: 3 },
    summary,
  });

type Decision = { kind: 'approve' | 'reject' | 'cancel'; input: OperatorInput };

/**
 * One refund, exactly once: received → (awaiting approval) → submitting → the provider → the outcome
 * recorded → done. A refund that fails ends the run failed (so a new run may follow it); one that
 * succeeded or needs a person completes the run with the refund record.
 */
export async function refundWorkflow(input: RefundRequested): Promise<RefundRecord> {
  const request = parseWorkflowInput(refundRequested, input, 'refund request');
  const { workflowId, runId } = workflowInfo();
  const progress: RefundProgress = { refundId: request.refundId, status: 'received', attempts: 0 };
  let decision: Decision | undefined;
  let submissionStarted = false;

  setHandler(statusQuery, () => progress, { description: 'Where the refund is: status, provider attempts, last error' });
  /** Validators refuse an update before it is accepted: nothing reaches history for a refused one. */
  const undecided = (action: string, operator: unknown) => {
    validOperatorInput(action, operator);
    // A decision names its refund: it reaches this run only if it is this run's (money-safety rule 7).
    const named = (operator as OperatorInput | undefined)?.refundId;
    if (named !== undefined && named !== request.refundId) {
      throw new Error(`cannot ${action}: this run is refund ${request.refundId}, not ${named}`);
    }
    if (decision) throw new Error(`cannot ${action}: this refund was already ${decisionPast(decision)}`);
  };
  const awaitingApproval = (action: string) => (operator: OperatorInput) => {
    if (progress.status !== 'awaiting_approval') throw new Error(`cannot ${action}: the refund is ${progress.status}, not awaiting approval`);
    undecided(action, operator);
  };
  setHandler(
    approveUpdate,
    async (operator) => {
      decision ??= { kind: 'approve', input: operator ?? {} };
      await condition(() => progress.status !== 'awaiting_approval');
      return progress;
    },
    { validator: awaitingApproval('approve'), description: 'Approve a refund that awaits approval. Input (optional): {"by": "your name", "reason": "…"}' },
  );
  setHandler(
    rejectUpdate,
    async (operator) => {
      decision ??= { kind: 'reject', input: operator ?? {} };
      await condition(() => progress.status !== 'awaiting_approval');
      return progress;
    },
    { validator: awaitingApproval('reject'), description: 'Reject a refund that awaits approval; it ends cancelled. Input (optional): {"by": "…", "reason": "…"}' },
  );
  setHandler(
    cancelUpdate,
    async (operator) => {
      decision ??= { kind: 'cancel', input: operator ?? {} };
      await condition(() => progress.status === 'cancelled' || submissionStarted);
      return progress;
    },
    {
      description: 'Cancel a refund before it is sent to the provider. Input (optional): {"by": "…", "reason": "…"}',
      validator: (operator: OperatorInput) => {
        if (progress.status === 'cancelled') throw new Error('cannot cancel: the refund is already cancelled');
        if (submissionStarted) {
          throw new Error(`too late to cancel: the refund is ${progress.status}; submission to the provider has started`);
        }
        undecided('cancel', operator);
      },
    },
  );

  // Runs recorded before the patch replay as they ran: ledger steps as activities, a search attribute
  // upsert first, the outcome behind its own patch.
  const localSteps = patched('local-steps');
  const ledgerSteps = localSteps ? localLedger : ledger;
  const attributes: SearchAttributeUpdatePair[] = [
    { key: RefundProvider, value: request.provider },
    { key: OrderId, value: request.orderId },
    { key: RefundAmount, value: request.amount },
    { key: RefundStatusKey, value: progress.status },
  ];
  if (request.provider === 'oen') attributes.push({ key: TransactionHid, value: request.transactionHid });
  // Since the patch, no upsert of its own: refundflow's starters (refundStartOptions: the API, a
  // parent run) give a run its attributes at start, and every status change writes them all (so a
  // run started by hand has them from its first status change on).
  if (!localSteps) upsertSearchAttributes(attributes);
  describe();

  async function setStatus(status: RefundStatus, fields: TransitionFields = {}): Promise<RefundRecord> {
    return show(await ledgerSteps(`Ledger: ${request.refundId} → ${status}`).recordStatus(request.refundId, status, fields));
  }

  /** The query, the RefundStatus search attribute and the details follow the ledger's record. */
  function show(record: RefundRecord): RefundRecord {
    progress.status = record.status;
    progress.attempts = record.attempts;
    if (record.error) progress.lastError = record.error;
    const status = { key: RefundStatusKey, value: record.status };
    upsertSearchAttributes(localSteps ? [...attributes.filter((a) => a.key !== RefundStatusKey), status] : [status]);
    describe();
    return record;
  }

  function describe(): void {
    const error = progress.lastError ? `\n\n**Last error:** ${progress.lastError.code} — ${progress.lastError.message}` : '';
    setCurrentDetails(
      `**${refundSummary(request)}** — ${progress.status}\n\nRefund ${request.refundId}` +
        (request.provider === 'oen' ? ` of Oen transaction ${request.transactionHid}` : ` of MWD order ${request.orderId}`) +
        error,
    );
  }

  /** Tells order management how the refund ended (refund.succeeded, .failed, .requires_attention, .cancelled). */
  async function outcome(record: RefundRecord): Promise<RefundRecord> {
    const summary = `Tell order management: refund.${record.status} for ${record.refundId}`;
    if (localSteps) {
      try {
        await localOutcome(summary).deliverOutcome(record);
      } catch (err) {
        // A local activity's failure arrives as its own failure, not wrapped in an ActivityFailure.
        if (!(err instanceof ApplicationFailure || err instanceof ActivityFailure)) throw err;
        await outcomeEvents(summary).deliverOutcome(record);
      }
      return record;
    }
    // Runs recorded before outcome events existed replay without the delivery.
    if (patched('outcome-events')) await outcomeEvents(summary).deliverOutcome(record);
    return record;
  }

  /**
   * Ends the refund cancelled — nothing was sent — and tells order management (refund.cancelled;
   * runs recorded before the `cancelled-outcome` patch replay without it). Not itself cancellable: a
   * Temporal Cancel request that led here must not stop it half-way.
   */
  async function cancelled(code: string, message: string): Promise<never> {
    const record = await CancellationScope.nonCancellable(async () => {
      const ended = await setStatus('cancelled', { error: { code, message } });
      if (patched('cancelled-outcome')) await outcome(ended);
      return ended;
    });
    throw ApplicationFailure.nonRetryable(`Refund ${request.refundId} cancelled: ${message}`, 'RefundCancelled', record);
  }

  // Opening is not cancellable: a Temporal Cancel request must find the refund in the ledger to end it.
  const { policy, opened } = await CancellationScope.nonCancellable(async () =>
    localSteps
      ? localLedger(`Ledger: open refund ${request.refundId}`).beginRefund(request, workflowId, runId)
      : { policy: await refundPolicy(), opened: await ledger(`Ledger: open refund ${request.refundId}`).openRefund(request, workflowId, runId) },
  );
  if ('conflict' in opened) {
    const existing = opened.conflict;
    throw ApplicationFailure.nonRetryable(
      `Refused: Oen transaction ${existing.transactionHid} already has refund ${existing.refundId} (${existing.status}); ` +
        'Oen allows one refund per transaction',
      'DuplicateRefund',
      { existingRefundId: existing.refundId, existingStatus: existing.status },
    );
  }
  if ('inFlight' in opened) {
    const existing = opened.inFlight;
    throw ApplicationFailure.nonRetryable(
      `Refused: refund ${existing.refundId} is already ${existing.status} under workflow ${existing.workflowId}; that run owns it`,
      'DuplicateRefund',
      { existingRefundId: existing.refundId, existingStatus: existing.status, existingWorkflowId: existing.workflowId },
    );
  }
  if ('differs' in opened) {
    throw ApplicationFailure.nonRetryable(`Refused: ${opened.reason}`, 'RefundRequestConflict', {
      existingRefundId: opened.differs.refundId,
      existingStatus: opened.differs.status,
    });
  }
  if ('settled' in opened) {
    // A refund id ends once: a second run of it (a re-dispatch, a Reset, a "start like this") reports
    // it as it stands, ending as its first run ended; nothing is sent, nothing is told again.
    const record = show(opened.settled);
    if (record.status === 'failed') throw ApplicationFailure.nonRetryable(`Refund ${request.refundId} already failed`, 'RefundFailed', record);
    if (record.status === 'cancelled') throw ApplicationFailure.nonRetryable(`Refund ${request.refundId} was already cancelled`, 'RefundCancelled', record);
    return record;
  }

  try {
    if (policy.approvalThreshold !== undefined && request.amount >= policy.approvalThreshold) {
      // Decisions are accepted from now on: before the ledger says so, never after (an operator who
      // reads awaiting_approval from the ledger must find the run ready for approve or reject).
      progress.status = 'awaiting_approval';
      await setStatus('awaiting_approval');
      const decided = await condition(() => decision !== undefined, policy.approvalTimeoutMs);
      if (!decision || !decided) {
        return cancelled('ApprovalTimeout', `not approved within ${Math.round(policy.approvalTimeoutMs / 1000)} seconds`);
      }
      if (decision.kind !== 'approve') {
        return cancelled(decision.kind === 'reject' ? 'Rejected' : 'Cancelled', operatorMessage(decision));
      }
    } else if (decision?.kind === 'cancel') {
      return cancelled('Cancelled', operatorMessage(decision));
    }
  } catch (err) {
    // Temporal's own Cancel before anything was sent: the refund ends cancelled, as the update would.
    if (isCancellation(err)) return cancelled('CancelRequested', 'cancelled through Temporal (a workflow Cancel request) before it was sent');
    throw err;
  }

  // From here on the provider may act: cancel is refused (the flag is set before the next await).
  submissionStarted = true;
  // A Temporal Cancel request from here on is not obeyed: the provider may act, so the run settles
  // the refund — submits, records and tells — whatever is asked of it meanwhile.
  return CancellationScope.nonCancellable(async () => {
    await setStatus('submitting');

    const { submitOenRefund, submitMwdRefund } = providerCalls(
      policy.retryWindowMs,
      { heartbeatTimeout: '20 seconds', summary: providerCallSummary(request) },
      'ledger',
    );
    let result: ProviderOutcome;
    try {
      result = request.provider === 'oen' ? await submitOenRefund(request) : await submitMwdRefund(request);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const end = providerCallEnd(err, policy.retryWindowMs);
      if (end.status === 'failed') {
        const record = await outcome(await setStatus('failed', { error: { code: end.code, message: end.message } }));
        throw ApplicationFailure.nonRetryable(`Refund ${request.refundId} failed: ${end.message}`, 'RefundFailed', record);
      }
      // The retry window passed with the provider still failing: a person decides.
      return outcome(await setStatus('requires_attention', { error: { code: end.code, message: end.message } }));
    }
    if (result.outcome === 'succeeded') {
      return outcome(await setStatus('succeeded', { providerReference: result.providerReference, error: null }));
    }
    return outcome(await setStatus('requires_attention', { error: { code: result.code, message: result.reason } }));
  });
}

/** How the provider call reads in the Web UI: "Oen refund P20240412CIK7KPPH NT$1,000". */
function providerCallSummary(request: RefundRequested): string {
  return request.provider === 'oen'
    ? `Oen refund ${request.transactionHid} ${formatNtd(request.amount)}`
    : `MWD refund order ${request.orderId} ${formatNtd(request.amount)}`;
}

function decisionPast({ kind, input }: Decision): string {
  const verb = kind === 'approve' ? 'approved' : kind === 'reject' ? 'rejected' : 'cancelled';
  return `${verb} by ${input.by ?? 'an operator'}`;
}

/** An update's argument is optional; when given it must be { by?, reason? } of short strings. */
function validOperatorInput(action: string, operator: unknown): void {
  if (operator === undefined || operator === null) return;
  const problems = operatorInput.safeParse(operator);
  if (!problems.success) {
    throw new Error(`cannot ${action}: ${problems.error.issues.map((i) => `${i.path.join('.') || 'input'} ${i.message}`).join('; ')}`);
  }
}

function operatorMessage({ kind, input }: Decision): string {
  const verb = kind === 'reject' ? 'rejected' : 'cancelled';
  return `${verb} by ${input.by ?? 'an operator'}${input.reason ? `: ${input.reason}` : ''}`;
}
