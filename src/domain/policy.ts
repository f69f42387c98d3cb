/** The engine's settings a refund run needs; the worker reads them from its configuration (src/wiring/policies.ts). */
export interface RefundPolicy {
  /** NT$; unset: no refund waits for approval. */
  approvalThreshold?: number;
  /** NT$; refunds of at least this much need two different approvers. */
  dualApprovalThreshold?: number;
  approvalTimeoutMs: number;
  /**
   * Public keys (hex) of the API keys whose signed decisions a run takes (src/domain/decision-proof.ts).
   * Absent only in the policies of runs opened before decisions were signed: those take any decision.
   */
  decisionVerifyKeys?: readonly string[];
  /** Whether a decision without the API's proof is taken (recorded as unverified): embedded dev mode only. */
  acceptUnsignedDecisions?: boolean;
  /** After this long of retrying a provider call, the refund goes to requires_attention. */
  retryWindowMs: number;
}

/**
 * The failure types of the providers' rule tables, as a run reads them with its policy (recorded in
 * its history, so a run replays with the lists it ran with): `final` ones are never retried;
 * `refusals` are the only ones that may end a refund `failed` (money-safety rule 6).
 */
export interface ProviderFailureTypes {
  final: readonly string[];
  refusals: readonly string[];
}

/** What a run reads at its start: the worker's policy and the providers' failure types. */
export interface RunPolicy extends RefundPolicy {
  failureTypes: ProviderFailureTypes;
}

/** Whether a refund of `amount` waits for an approver under this policy: at or above APPROVAL_THRESHOLD. */
export function needsApproval(policy: Pick<RefundPolicy, 'approvalThreshold'>, amount: number): boolean {
  return policy.approvalThreshold !== undefined && amount >= policy.approvalThreshold;
}
