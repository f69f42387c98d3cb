import { condition, setHandler } from '@temporalio/workflow';
import { operatorInputProblems, type OperatorInput } from '../domain/operator.js';
import { approveUpdate, cancelUpdate, rejectUpdate, statusQuery, type RefundProgress } from './messages.js';

/**
 * A refund run's operator decisions: the status query, and the approve, reject and cancel updates
 * with their validators (which refuse an update before it is accepted: nothing reaches history for a
 * refused one). The run asks `decided()`/`awaitDecision()`, and says when submission starts, after
 * which a cancel is refused.
 */
export type Decision = { kind: 'approve' | 'reject' | 'cancel'; input: OperatorInput };

export function operatorDecisions(refundId: string, progress: RefundProgress) {
  let decision: Decision | undefined;
  let submissionStarted = false;

  setHandler(statusQuery, () => progress, { description: 'Where the refund is: status, provider attempts, last error' });

  const undecided = (action: string, operator: unknown) => {
    const problems = operatorInputProblems(operator);
    if (problems.length > 0) throw new Error(`cannot ${action}: ${problems.join('; ')}`);
    // A decision names its refund: it reaches this run only if it is this run's (money-safety rule 7).
    const named = (operator as OperatorInput | undefined)?.refundId;
    if (named !== undefined && named !== refundId) throw new Error(`cannot ${action}: this run is refund ${refundId}, not ${named}`);
    if (decision) throw new Error(`cannot ${action}: this refund was already ${decisionPast(decision)}`);
  };
  const awaitingApproval = (action: string) => (operator: OperatorInput) => {
    if (progress.status !== 'awaiting_approval') throw new Error(`cannot ${action}: the refund is ${progress.status}, not awaiting approval`);
    undecided(action, operator);
  };
  const decide = (kind: Decision['kind'], until: () => boolean) => async (operator: OperatorInput) => {
    decision ??= { kind, input: operator ?? {} };
    await condition(until);
    return progress;
  };
  const approvalDecided = () => progress.status !== 'awaiting_approval';

  setHandler(approveUpdate, decide('approve', approvalDecided), {
    validator: awaitingApproval('approve'),
    description: 'Approve a refund that awaits approval. Input (optional): {"by": "your name", "reason": "…"}',
  });
  setHandler(rejectUpdate, decide('reject', approvalDecided), {
    validator: awaitingApproval('reject'),
    description: 'Reject a refund that awaits approval; it ends cancelled. Input (optional): {"by": "…", "reason": "…"}',
  });
  setHandler(
    cancelUpdate,
    decide('cancel', () => progress.status === 'cancelled' || submissionStarted),
    {
      description: 'Cancel a refund before it is sent to the provider. Input (optional): {"by": "…", "reason": "…"}',
      validator: (operator: OperatorInput) => {
        if (progress.status === 'cancelled') throw new Error('cannot cancel: the refund is already cancelled');
        if (submissionStarted) throw new Error(`too late to cancel: the refund is ${progress.status}; submission to the provider has started`);
        undecided('cancel', operator);
      },
    },
  );

  return {
    /** The decision made so far, if any. */
    decided: (): Decision | undefined => decision,
    /** Waits for approve, reject or cancel; undefined when none came within `timeoutMs`. */
    awaitDecision: async (timeoutMs: number): Promise<Decision | undefined> => {
      await condition(() => decision !== undefined, timeoutMs);
      return decision;
    },
    /**
     * Approve and reject are accepted from now on. Called before the ledger says awaiting_approval,
     * never after: an operator who reads that status there must find the run ready for a decision.
     */
    awaitingApproval: (): void => {
      progress.status = 'awaiting_approval';
    },
    /** From now on the provider may act: a cancel is refused (set before the run's next await). */
    submissionStarts: (): void => {
      submissionStarted = true;
    },
  };
}

/** "rejected by Ann: duplicate order", for the ledger's error and the run's failure. */
export function decisionMessage({ kind, input }: Decision): string {
  return `${decisionPast({ kind, input })}${input.reason ? `: ${input.reason}` : ''}`;
}

function decisionPast({ kind, input }: Decision): string {
  const verb = kind === 'approve' ? 'approved' : kind === 'reject' ? 'rejected' : 'cancelled';
  return `${verb} by ${input.by ?? 'an operator'}`;
}
