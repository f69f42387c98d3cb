import type { DecisionProof } from './decision-proof.js';
import type { RefundStatus } from './refund-status.js';

/**
 * Settling a refund left in requires_attention (docs/operations.md, "Settling requires_attention"):
 * a person says how it ended, with evidence — for Oen the engine first asks Oen and refuses a word
 * that contradicts what Oen shows; for MWD (which cannot be asked) it is an approver's word — or, for
 * Oen only, asks for it to be sent again, which happens only if Oen shows the transaction still charged.
 */
export type Resolution =
  | { outcome: 'succeeded'; providerReference: string; evidence: string }
  | { outcome: 'failed'; evidence: string }
  | { action: 'retry'; reason?: string };

/** What a resolution run is given: the refund, the resolution, and the API's proof of who asked. */
export interface ResolveInput {
  refundId: string;
  resolution: Resolution;
  proof?: DecisionProof;
}

export type ResolveResult =
  /** Settled (or, for a retry, sent again and ended as the provider answered): the refund as it is now. */
  | { resolved: true; status: RefundStatus; providerEvidence?: string }
  /** Refused: why, with what the provider showed when it was asked. */
  | { resolved: false; refused: string; status?: RefundStatus; providerEvidence?: string };

export const resolutionLimits = { providerReference: 100, evidence: 2000, reason: 500 } as const;

/** The text a resolution's proof signs (with src/domain/decision-proof.ts): its fields in a fixed order. */
export function resolutionDetails(resolution: Resolution): string {
  return 'action' in resolution
    ? JSON.stringify(['retry', resolution.reason ?? ''])
    : JSON.stringify([resolution.outcome, resolution.outcome === 'succeeded' ? resolution.providerReference : '', resolution.evidence]);
}

/** One resolution at a time per refund: a second, while one runs, is refused by Temporal. */
export function resolveWorkflowId(refundId: string): string {
  return `resolve:${refundId}`;
}
