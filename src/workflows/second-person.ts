import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import type { Role } from '../domain/actor.js';
import { codes } from '../domain/failures.js';
import { formatNtd } from '../domain/format.js';
import { secondPersonProblem } from '../domain/four-eyes.js';
import { describeDecider, type DecisionRecord } from '../domain/operator.js';
import type { RunPolicy } from '../domain/policy.js';
import { describeResolution, resolutionDetails, resolveInputProblems, type ResolveInput } from '../domain/resolution.js';
import { decidedBy } from './decided-by.js';
import { confirmResolutionUpdate } from './messages.js';

const TWO_PEOPLE_PATCH = 'resolve-two-people';

/**
 * A resolution of a refund of at least DUAL_APPROVAL_THRESHOLD is made by two people (money-safety
 * rule 8): the run started by the first waits for a second, who asks for the same resolution (the
 * API sends it as the `confirmResolution` update, signed as theirs). The run checks the second
 * proof as it checked the first, and counts people as a refund run does (src/domain/four-eyes.ts).
 * The handler is registered when the run starts, so a confirmation that comes early waits for the
 * first decision to be checked.
 */
export function secondPerson(input: ResolveInput) {
  let first: { decision: DecisionRecord; policy: RunPolicy; needed: Role; twoNeeded: boolean } | undefined;
  let confirmation: DecisionRecord | undefined;

  const shapeProblem = (asked: ResolveInput): string | undefined => {
    const problems = resolveInputProblems(asked);
    if (problems.length > 0) return problems.join('; ');
    if (asked.refundId !== input.refundId) return `this run resolves refund ${input.refundId}, not ${asked.refundId}`;
    if (resolutionDetails(asked.resolution) !== resolutionDetails(input.resolution)) {
      return `the resolution waiting resolves it ${describeResolution(input.resolution)}: a second person asks for the same one, or it ends unconfirmed`;
    }
    return undefined;
  };
  /** The second decision, as the record will keep it; throws why it is refused. */
  const check = (asked: ResolveInput): DecisionRecord => {
    if (!first) throw new Error('cannot confirm: the first decision has not been checked yet');
    if (!first.twoNeeded) throw new Error(`a resolution of refund ${input.refundId} is already running (it needs one person); wait for it`);
    const problem = shapeProblem(asked);
    if (problem) throw new Error(`cannot confirm: ${problem}`);
    if (confirmation) throw new Error(`cannot confirm: ${describeDecider(confirmation.by)} confirmed it already`);
    const details = resolutionDetails(asked.resolution);
    const who = decidedBy(first.policy, { action: 'resolve', refundId: input.refundId, proof: asked.proof, details, now: Date.now() }, first.needed);
    const notSecond = secondPersonProblem([first.decision], who, 'asked for it');
    if (notSecond)
      throw new Error(
        `cannot confirm: ${notSecond}; resolving a refund of at least ${formatNtd(first.policy.dualApprovalThreshold ?? 0)} takes two different people`,
      );
    return { action: 'resolve', ...who, at: new Date().toISOString(), reason: describeResolution(asked.resolution) };
  };

  setHandler(
    confirmResolutionUpdate,
    async (asked: ResolveInput) => {
      await condition(() => first !== undefined);
      try {
        confirmation = check(asked);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), codes.DecisionRefused);
      }
      return confirmation.by.name;
    },
    {
      validator: (asked: ResolveInput) => {
        if (first) check(asked);
        else if (shapeProblem(asked)) throw new Error(`cannot confirm: ${shapeProblem(asked)}`);
      },
      description:
        'A second person asks for the same resolution of a refund at DUAL_APPROVAL_THRESHOLD (use `npx refundflow resolve` or the API, which sign it)',
    },
  );

  return {
    /**
     * The first decision is checked: when the refund needs two people, waits for the second's, up to
     * the policy's approval timeout. Answers the second decision (none when one person suffices), or
     * why the resolution cannot go ahead: the first names no person, or no second came in time.
     */
    confirmed: async (asked: {
      decision: DecisionRecord;
      policy: RunPolicy;
      amount: number;
      needed: Role;
      /** Says what the run waits for, where it shows itself. */
      waiting: (text: string) => void;
    }): Promise<{ kind: 'confirmed'; second: DecisionRecord[] } | { kind: 'refused'; code: 'forbidden' | 'not_confirmed'; refused: string }> => {
      const { decision, policy, amount, needed } = asked;
      const twoNeeded = policy.dualApprovalThreshold !== undefined && amount >= policy.dualApprovalThreshold;
      first = { decision, policy, needed, twoNeeded };
      // A run that was under way before resolutions took two people replays as it ran.
      if (!twoNeeded || !patched(TWO_PEOPLE_PATCH)) return { kind: 'confirmed', second: [] };
      const nobody = secondPersonProblem([], decision);
      if (nobody)
        return {
          kind: 'refused',
          code: 'forbidden',
          refused: `Resolving a refund of at least ${formatNtd(policy.dualApprovalThreshold ?? 0)} takes two people: ${nobody}`,
        };
      asked.waiting(`asked by ${describeDecider(decision.by)}; waiting for a second person to ask for the same resolution`);
      if (await condition(() => confirmation !== undefined, policy.approvalTimeoutMs)) return { kind: 'confirmed', second: [confirmation!] };
      return {
        kind: 'refused',
        code: 'not_confirmed',
        refused: `No second person asked for the same resolution within ${Math.round(policy.approvalTimeoutMs / 1000)} s; nothing was changed`,
      };
    },
  };
}
