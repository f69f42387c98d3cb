import { ApplicationFailure, condition, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { codes } from '../domain/failures.js';
import { decisionRole } from '../domain/decision-proof.js';
import { secondPersonProblem } from '../domain/four-eyes.js';
import { formatNtd } from '../domain/format.js';
import type { RunPolicy } from '../domain/policy.js';
import { describeDecider, operatorInputProblems, type DecisionRecord, type OperatorInput } from '../domain/operator.js';
import { decidedBy } from './decided-by.js';
import { approveUpdate, cancelUpdate, rejectUpdate, statusQuery, type RefundProgress } from './messages.js';

/** A decision a run took: approved (by as many approvers as it needed), rejected or cancelled, with the records of who decided. */
export type Decision = { kind: 'approve' | 'reject' | 'cancel'; reason?: string; records: DecisionRecord[] };

type Kind = Decision['kind'];

/** Marks approvals taken since four eyes count people (histories from before replay as they ran). */
const COUNT_PEOPLE_PATCH = 'four-eyes-count-people';

/**
 * A refund run's operator decisions: the status query, and the approve, reject and cancel updates
 * with their validators (which refuse an update before it is accepted: nothing reaches history for a
 * refused one). A decision is taken only with the API's signed proof of who made it, from someone
 * whose role allows it (docs/operations.md, "Who may do what"); at or above the policy's
 * DUAL_APPROVAL_THRESHOLD two approvers who are two different people must approve (four-eyes.ts). It owns the
 * decision state (the policy it is checked against, the approvals so far, the decision); the run asks
 * `decided()`/`awaitDecision()`, and says when submission starts, after which a cancel is refused.
 */
export class OperatorDecisions {
  private policy: RunPolicy | undefined;
  private decision: Decision | undefined;
  private submissionStarted = false;
  /** Cancels taken before the policy was read, not yet checked. */
  private unchecked = 0;
  private readonly approvals: DecisionRecord[] = [];

  /** Registers the status query and the three updates: a run makes this first, before it awaits anything. */
  constructor(
    private readonly request: { refundId: string; amount: number },
    private readonly progress: RefundProgress,
  ) {
    setHandler(statusQuery, () => progress, { description: 'Where the refund is: status, provider attempts, approvals, last error' });
    const approvalDecided = () => progress.status !== 'awaiting_approval';
    setHandler(approveUpdate, (input: OperatorInput) => this.decide('approve', input, approvalDecided), {
      validator: (input: OperatorInput) => this.validateAwaitingApproval('approve', input),
      description:
        'Approve a refund that awaits approval (approver role; use `npx refundflow approve` or the API, which sign the decision). Input (optional): {"reason": "…"}',
    });
    setHandler(rejectUpdate, (input: OperatorInput) => this.decide('reject', input, approvalDecided), {
      validator: (input: OperatorInput) => this.validateAwaitingApproval('reject', input),
      description:
        'Reject a refund that awaits approval; it ends cancelled (approver role; use `npx refundflow reject` or the API). Input (optional): {"reason": "…"}',
    });
    setHandler(cancelUpdate, (input: OperatorInput) => this.decide('cancel', input, () => progress.status === 'cancelled' || this.submissionStarted), {
      description:
        'Cancel a refund before it is sent to the provider (operator role; use `npx refundflow cancel` or the API). Input (optional): {"reason": "…"}',
      validator: (input: OperatorInput) => {
        if (progress.status === 'cancelled') throw new Error('cannot cancel: the refund is already cancelled');
        if (this.submissionStarted) throw new Error(`too late to cancel: the refund is ${progress.status}; submission to the provider has started`);
        this.validate('cancel', input);
      },
    });
  }

  /** The run has read its policy: decisions are checked against it from now on. */
  usePolicy(policy: RunPolicy): void {
    this.policy = policy;
  }

  /** The decision made so far, if any, once every decision taken before the policy was read has been checked. */
  async decided(): Promise<Decision | undefined> {
    await condition(() => this.unchecked === 0);
    return this.decision;
  }

  /** Whether a decision has been taken, or one waits for the policy to be checked: a run does not claim its refund past it unasked. */
  pending(): boolean {
    return this.unchecked > 0 || this.decision !== undefined;
  }

  /** Waits for approve (by as many approvers as needed), reject or cancel; undefined when none came within `timeoutMs`. */
  async awaitDecision(timeoutMs: number): Promise<Decision | undefined> {
    await condition(() => this.decision !== undefined, timeoutMs);
    return this.decision;
  }

  /**
   * Approve and reject are accepted from now on. Called before the ledger says awaiting_approval,
   * never after: an operator who reads that status there must find the run ready for a decision.
   */
  awaitingApproval(): void {
    this.progress.status = 'awaiting_approval';
    this.progress.approvalsNeeded = this.approvalsNeeded();
  }

  /** From now on the provider may act: a cancel is refused (set before the run's next await). */
  submissionStarts(): void {
    this.submissionStarted = true;
  }

  private approvalsNeeded(): number {
    const threshold = this.policy?.dualApprovalThreshold;
    return threshold !== undefined && this.request.amount >= threshold ? 2 : 1;
  }

  /** The update's input as the run takes it, if its shape, refund and timing allow; throws why not. */
  private admissible(kind: Kind, input: unknown): OperatorInput {
    const { refundId } = this.request;
    const problems = operatorInputProblems(input);
    if (problems.length > 0) throw new Error(`cannot ${kind}: ${problems.join('; ')}`);
    const operator = (input ?? {}) as OperatorInput;
    // A decision names its refund: it reaches this run only if it is this run's (money-safety rule 7).
    if (operator.refundId !== undefined && operator.refundId !== refundId)
      throw new Error(`cannot ${kind}: this run is refund ${refundId}, not ${operator.refundId}`);
    if (this.decision) throw new Error(`cannot ${kind}: this refund was already ${decisionPast(this.decision.kind, this.decision.records.at(-1))}`);
    return operator;
  }

  /**
   * The decision, as the record will keep it, once the run has its policy: who made it, proven; throws
   * why it is refused. `countPeople` false: an approval a run took before four eyes counted people,
   * replayed as it was taken then (the same credential twice was all it refused).
   */
  private proven(kind: Kind, operator: OperatorInput, policy: RunPolicy, countPeople = true): DecisionRecord {
    const { approvals } = this;
    const asked = {
      action: kind,
      refundId: this.request.refundId,
      runId: workflowInfo().runId,
      proof: operator.proof,
      details: operator.reason ?? '',
      now: Date.now(),
      by: operator.by,
    };
    const who = decidedBy(policy, asked, decisionRole[kind]);
    // The last gate of four eyes: whatever reached the run through Temporal, one person counts once.
    const sameCredential = () => (approvals.some((approval) => approval.by.id === who.by.id) ? `${who.by.name} approved already` : undefined);
    const notSecond = kind === 'approve' && this.approvalsNeeded() > 1 ? (countPeople ? secondPersonProblem(approvals, who) : sameCredential()) : undefined;
    if (notSecond)
      throw new Error(
        `cannot approve: ${notSecond}; a refund of at least ${formatNtd(policy.dualApprovalThreshold ?? 0)} needs two approvers who are different people`,
      );
    return { action: kind, ...who, at: new Date().toISOString(), ...(operator.reason && { reason: operator.reason }) };
  }

  /** For validators: refuses what the run can tell is wrong now (a cancel before the policy is read is checked by its handler). */
  private validate(kind: Kind, input: unknown): void {
    const operator = this.admissible(kind, input);
    if (this.policy) this.proven(kind, operator, this.policy);
  }

  private validateAwaitingApproval(kind: Kind, input: OperatorInput): void {
    if (this.progress.status !== 'awaiting_approval') throw new Error(`cannot ${kind}: the refund is ${this.progress.status}, not awaiting approval`);
    this.validate(kind, input);
  }

  /**
   * Takes a decision (validated again: the same state gives the same answer); answers the progress
   * once it has effect. A cancel that came before the run read its policy (the refund just received,
   * or its worker away) waits for it, is checked then, and refused with why if it does not hold:
   * the run does not go ahead until it has been (`decided`).
   */
  private async decide(kind: Kind, input: OperatorInput, until: () => boolean): Promise<RefundProgress> {
    const { progress, approvals } = this;
    let record: DecisionRecord;
    if (this.policy) {
      record = this.proven(kind, this.admissible(kind, input), this.policy, kind !== 'approve' || patched(COUNT_PEOPLE_PATCH));
    } else {
      this.unchecked += 1;
      try {
        const policy = await this.policyRead();
        if (this.submissionStarted) throw new Error(`too late to cancel: the refund is ${progress.status}; submission to the provider has started`);
        record = this.proven(kind, this.admissible(kind, input), policy);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), codes.DecisionRefused);
      } finally {
        this.unchecked -= 1;
      }
    }
    if (kind === 'approve') {
      approvals.push(record);
      progress.approvals = approvals.map(({ by, at }) => ({ by: by.name, at, ...(by.person !== undefined && { person: by.person }) }));
      if (approvals.length < this.approvalsNeeded()) return progress;
    }
    this.decision ??= { kind, records: kind === 'approve' ? [...approvals] : [...approvals, record], ...(record.reason && { reason: record.reason }) };
    await condition(until);
    return progress;
  }

  /** The run's policy, once it has read it. */
  private async policyRead(): Promise<RunPolicy> {
    await condition(() => this.policy !== undefined);
    return this.policy!;
  }
}

/** "rejected by Ann (approver, key:ann): duplicate order", for the ledger's error and the run's failure. */
export function decisionMessage({ kind, reason, records }: Decision): string {
  return `${decisionPast(kind, records.at(-1))}${reason ? `: ${reason}` : ''}`;
}

function decisionPast(kind: Kind, record: DecisionRecord | undefined): string {
  const verb = kind === 'approve' ? 'approved' : kind === 'reject' ? 'rejected' : 'cancelled';
  return record ? `${verb} by ${describeDecider(record.by)}` : verb;
}
