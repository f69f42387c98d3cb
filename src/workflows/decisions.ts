import { ApplicationFailure, condition, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { codes } from '../domain/failures.js';
import { describeActor } from '../domain/actor.js';
import { decisionRole } from '../domain/decision-proof.js';
import { secondPersonProblem } from '../domain/four-eyes.js';
import type { RunPolicy } from '../domain/policy.js';
import { operatorInputProblems, type DecisionRecord, type OperatorInput } from '../domain/operator.js';
import { decidedBy } from './decided-by.js';
import { approveUpdate, cancelUpdate, rejectUpdate, statusQuery, type RefundProgress } from './messages.js';

/**
 * A refund run's operator decisions: the status query, and the approve, reject and cancel updates
 * with their validators (which refuse an update before it is accepted: nothing reaches history for a
 * refused one). A decision is taken only with the API's signed proof of who made it, from someone
 * whose role allows it (docs/operations.md, "Who may do what"); at or above the policy's
 * DUAL_APPROVAL_THRESHOLD two approvers who are two different people must approve (four-eyes.ts). The run asks
 * `decided()`/`awaitDecision()`, and says when submission starts, after which a cancel is refused.
 */
export type Decision = { kind: 'approve' | 'reject' | 'cancel'; reason?: string; records: DecisionRecord[] };

type Kind = Decision['kind'];

/** Marks approvals taken since four eyes count people (histories from before replay as they ran). */
const COUNT_PEOPLE_PATCH = 'four-eyes-count-people';


export function operatorDecisions(request: { refundId: string; amount: number }, progress: RefundProgress) {
  const { refundId } = request;
  let policy: RunPolicy | undefined;
  let decision: Decision | undefined;
  let submissionStarted = false;
  const currentPolicy = (): RunPolicy | undefined => policy;
  /** Cancels taken before the policy was read, not yet checked. */
  let unchecked = 0;
  const approvals: DecisionRecord[] = [];

  setHandler(statusQuery, () => progress, { description: 'Where the refund is: status, provider attempts, approvals, last error' });

  const approvalsNeeded = () => (policy?.dualApprovalThreshold !== undefined && request.amount >= policy.dualApprovalThreshold ? 2 : 1);

  /** The update's input as the run takes it, if its shape, refund and timing allow; throws why not. */
  const admissible = (kind: Kind, input: unknown): OperatorInput => {
    const problems = operatorInputProblems(input);
    if (problems.length > 0) throw new Error(`cannot ${kind}: ${problems.join('; ')}`);
    const operator = (input ?? {}) as OperatorInput;
    // A decision names its refund: it reaches this run only if it is this run's (money-safety rule 7).
    if (operator.refundId !== undefined && operator.refundId !== refundId) throw new Error(`cannot ${kind}: this run is refund ${refundId}, not ${operator.refundId}`);
    if (decision) throw new Error(`cannot ${kind}: this refund was already ${decisionPast(decision.kind, decision.records.at(-1))}`);
    return operator;
  };
  /**
   * The decision, as the record will keep it, once the run has its policy: who made it, proven; throws
   * why it is refused. `countPeople` false: an approval a run took before four eyes counted people,
   * replayed as it was taken then (the same credential twice was all it refused).
   */
  const proven = (kind: Kind, operator: OperatorInput, runPolicy: RunPolicy, countPeople = true): DecisionRecord => {
    const who = decidedBy(runPolicy, { action: kind, refundId, runId: workflowInfo().runId, proof: operator.proof, details: operator.reason ?? '', now: Date.now(), by: operator.by }, decisionRole[kind]);
    // The last gate of four eyes: whatever reached the run through Temporal, one person counts once.
    const sameCredential = () => (approvals.some((approval) => approval.by.id === who.by.id) ? `${who.by.name} approved already` : undefined);
    const notSecond = kind === 'approve' && approvalsNeeded() > 1 ? (countPeople ? secondPersonProblem(approvals, who) : sameCredential()) : undefined;
    if (notSecond) throw new Error(`cannot approve: ${notSecond}; a refund of at least NT$${runPolicy.dualApprovalThreshold} needs two approvers who are different people`);
    return { action: kind, ...who, at: new Date().toISOString(), ...(operator.reason && { reason: operator.reason }) };
  };
  /** For validators: refuses what the run can tell is wrong now (a cancel before the policy is read is checked by its handler). */
  const validate = (kind: Kind, input: unknown): void => {
    const operator = admissible(kind, input);
    if (policy) proven(kind, operator, policy);
  };
  const awaitingApproval = (kind: Kind) => (input: OperatorInput) => {
    if (progress.status !== 'awaiting_approval') throw new Error(`cannot ${kind}: the refund is ${progress.status}, not awaiting approval`);
    validate(kind, input);
  };
  /**
   * Takes a decision (validated again: the same state gives the same answer); answers the progress
   * once it has effect. A cancel that came before the run read its policy (the refund just received,
   * or its worker away) waits for it, is checked then, and refused with why if it does not hold:
   * the run does not go ahead until it has been (`untilChecked`).
   */
  const decide = (kind: Kind, until: () => boolean) => async (input: OperatorInput) => {
    let record: DecisionRecord;
    if (policy) {
      record = proven(kind, admissible(kind, input), policy, kind !== 'approve' || patched(COUNT_PEOPLE_PATCH));
    } else {
      unchecked += 1;
      try {
        await condition(() => policy !== undefined);
        if (submissionStarted) throw new Error(`too late to cancel: the refund is ${progress.status}; submission to the provider has started`);
        const runPolicy = currentPolicy();
        if (!runPolicy) throw new Error(`cannot ${kind}: the run has no policy`);
        record = proven(kind, admissible(kind, input), runPolicy);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), codes.DecisionRefused);
      } finally {
        unchecked -= 1;
      }
    }
    if (kind === 'approve') {
      approvals.push(record);
      progress.approvals = approvals.map(({ by, at }) => ({ by: by.name, at, ...(by.person !== undefined && { person: by.person }) }));
      if (approvals.length < approvalsNeeded()) return progress;
    }
    decision ??= { kind, records: kind === 'approve' ? [...approvals] : [...approvals, record], ...(record.reason && { reason: record.reason }) };
    await condition(until);
    return progress;
  };
  const approvalDecided = () => progress.status !== 'awaiting_approval';

  setHandler(approveUpdate, decide('approve', approvalDecided), {
    validator: awaitingApproval('approve'),
    description: 'Approve a refund that awaits approval (approver role; use `npx refundflow approve` or the API, which sign the decision). Input (optional): {"reason": "…"}',
  });
  setHandler(rejectUpdate, decide('reject', approvalDecided), {
    validator: awaitingApproval('reject'),
    description: 'Reject a refund that awaits approval; it ends cancelled (approver role; use `npx refundflow reject` or the API). Input (optional): {"reason": "…"}',
  });
  setHandler(
    cancelUpdate,
    decide('cancel', () => progress.status === 'cancelled' || submissionStarted),
    {
      description: 'Cancel a refund before it is sent to the provider (operator role; use `npx refundflow cancel` or the API). Input (optional): {"reason": "…"}',
      validator: (input: OperatorInput) => {
        if (progress.status === 'cancelled') throw new Error('cannot cancel: the refund is already cancelled');
        if (submissionStarted) throw new Error(`too late to cancel: the refund is ${progress.status}; submission to the provider has started`);
        validate('cancel', input);
      },
    },
  );

  return {
    /** The run has read its policy: decisions are checked against it from now on. */
    usePolicy: (runPolicy: RunPolicy): void => {
      policy = runPolicy;
    },
    /** The decision made so far, if any, once every decision taken before the policy was read has been checked. */
    decided: async (): Promise<Decision | undefined> => {
      await condition(() => unchecked === 0);
      return decision;
    },
    /** Waits for approve (by as many approvers as needed), reject or cancel; undefined when none came within `timeoutMs`. */
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
      progress.approvalsNeeded = approvalsNeeded();
    },
    /** From now on the provider may act: a cancel is refused (set before the run's next await). */
    submissionStarts: (): void => {
      submissionStarted = true;
    },
  };
}

/** "rejected by Ann (approver, key:ann): duplicate order", for the ledger's error and the run's failure. */
export function decisionMessage({ kind, reason, records }: Decision): string {
  return `${decisionPast(kind, records.at(-1))}${reason ? `: ${reason}` : ''}`;
}

function decisionPast(kind: Kind, record: DecisionRecord | undefined): string {
  const verb = kind === 'approve' ? 'approved' : kind === 'reject' ? 'rejected' : 'cancelled';
  if (!record) return verb;
  const { by } = record;
  return `${verb} by ${by.role ? describeActor({ ...by, role: by.role }) : by.name}`;
}
