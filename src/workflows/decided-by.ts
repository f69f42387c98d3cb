import { hasRole, type Actor, type Role } from '../domain/actor.js';
import { proofProblem, type DecisionAction } from '../domain/decision-proof.js';
import type { RunPolicy } from '../domain/policy.js';
import { unverifiedDecider, type DecidedBy } from '../domain/operator.js';

/**
 * Who made a decision a run is asked to carry out, as the API's signed proof shows
 * (src/domain/decision-proof.ts), checked against the keys and rules of the run's policy: throws,
 * with what to do instead, when the proof is missing, forged, stale, for another decision, or from
 * someone without `needed`. Used by every run that takes a person's decision (decisions.ts, resolve.ts).
 */
export function decidedBy(
  policy: RunPolicy,
  decision: { action: DecisionAction; refundId: string; runId?: string; proof: unknown; details: string; now: number; by?: string | undefined },
  needed: Role,
): { by: DecidedBy; verified: boolean } {
  const { action, refundId } = decision;
  const keys = policy.decisionVerifyKeys;
  // A run opened before decisions were signed (its policy has no keys) takes them as it did.
  if (keys === undefined) return { by: { id: unverifiedDecider.id, name: decision.by ?? 'an operator' }, verified: false };
  if (decision.by !== undefined) throw new Error(`cannot ${action}: "by" is no longer taken: a decision is recorded under the identity the API verified`);
  if (decision.proof === undefined && policy.acceptUnsignedDecisions) return { by: unverifiedDecider, verified: false };
  const problem = proofProblem(
    decision.proof,
    { action, refundId, details: decision.details, now: decision.now, ...(decision.runId !== undefined && { runId: decision.runId }) },
    keys,
  );
  if (problem) {
    throw new Error(
      `cannot ${action}: ${problem}. Use \`npx refundflow ${action} ${refundId}\` or POST /v1/refunds/${refundId}/${action}; ` +
        'an update or run started from the Web UI or the temporal CLI carries no proof of who sent it',
    );
  }
  const { id, name, role, person, heldBy } = (decision.proof as { actor: Actor }).actor;
  if (!hasRole(role, needed)) throw new Error(`cannot ${action}: ${name} is ${role}; this needs the ${needed} role`);
  return { by: { id, name, role, ...(person !== undefined && { person }), ...(heldBy !== undefined && { heldBy }) }, verified: true };
}
