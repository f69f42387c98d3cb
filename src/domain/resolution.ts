import type { DecisionProof } from './decision-proof.js';
import type { OenShows } from './oen-shows.js';
import type { RefundStatus } from './refund-status.js';

/**
 * Settling a refund left in requires_attention (docs/operations.md, "Settling requires_attention"):
 * a person says how it ended, with evidence — for Oen the engine first asks Oen and refuses a word
 * that contradicts what Oen shows; for MWD (which cannot be asked) it is an approver's word — or, for
 * Oen only, asks for it to be sent again, which happens only if Oen shows the transaction still charged.
 */
export type Resolution =
  { outcome: 'succeeded'; providerReference: string; evidence: string } | { outcome: 'failed'; evidence: string } | { action: 'retry'; reason?: string };

/** What a resolution run is given: the refund, the resolution, and the API's proof of who asked. */
export interface ResolveInput {
  refundId: string;
  resolution: Resolution;
  proof?: DecisionProof;
}

export type ResolveResult =
  /** Settled (or, for a retry, sent again and ended as the provider answered): the refund as it is now. */
  | { resolved: true; status: RefundStatus; providerEvidence?: string }
  /** Refused, nothing changed: why (`code` for a program, `refused` for a person), with what the provider showed when it was asked. */
  | { resolved: false; code: ResolveRefusal; refused: string; status?: RefundStatus; providerEvidence?: string };

/**
 * Why a resolution run refused, one code each (docs/engine.md, "resolveWorkflow"):
 * - `invalid`: the input is malformed, or asks what this refund cannot take (a retry of an MWD
 *   refund; an Oen reference other than the transaction; a retry with no request to send);
 * - `not_found`: the ledger has no such refund;
 * - `forbidden`: no proof of who asked, a forged, stale or misdirected one, or a role too low;
 * - `not_requires_attention`: the refund is not in requires_attention (`status` says where it is);
 * - `changed_meanwhile`: the refund moved while the run looked at it (reconciliation, or another run);
 * - `contradicts_provider`: Oen shows otherwise (`providerEvidence` says what);
 * - `provider_unreachable`: Oen could not be asked;
 * - `not_confirmed`: a refund at DUAL_APPROVAL_THRESHOLD, and no second person asked for the same
 *   resolution in time (src/workflows/second-person.ts).
 */
export const resolveRefusals = [
  'invalid',
  'not_found',
  'forbidden',
  'not_requires_attention',
  'changed_meanwhile',
  'contradicts_provider',
  'provider_unreachable',
  'not_confirmed',
] as const;
export type ResolveRefusal = (typeof resolveRefusals)[number];

export const resolutionLimits = { refundId: 64, providerReference: 100, evidence: 2000, reason: 500 } as const;

/**
 * What is wrong with a resolution run's input, field by field (none for a good one): the run checks
 * it again without zod (a run may be started by hand). The proof is checked whole, against the
 * worker's keys (src/workflows/decided-by.ts).
 */
export function resolveInputProblems(input: unknown): string[] {
  if (!isObject(input)) return ['(input): must be an object: {"refundId": "…", "resolution": {…}, "proof": {…}}'];
  const problems = unknownFields(input, ['refundId', 'resolution', 'proof'], '');
  problems.push(...textProblems(input, 'refundId', resolutionLimits.refundId, true));
  const { resolution } = input;
  if (!isObject(resolution)) return [...problems, 'resolution: must be an object: {"outcome": …} or {"action": "retry"}'];
  if ('action' in resolution) {
    if (resolution.action !== 'retry') problems.push('resolution.action: must be "retry"');
    problems.push(
      ...unknownFields(resolution, ['action', 'reason'], 'resolution.'),
      ...textProblems(resolution, 'reason', resolutionLimits.reason, false, 'resolution.'),
    );
    return problems;
  }
  if (resolution.outcome === 'succeeded') {
    problems.push(
      ...unknownFields(resolution, ['outcome', 'providerReference', 'evidence'], 'resolution.'),
      ...textProblems(resolution, 'providerReference', resolutionLimits.providerReference, true, 'resolution.'),
    );
  } else if (resolution.outcome === 'failed') {
    problems.push(...unknownFields(resolution, ['outcome', 'evidence'], 'resolution.'));
  } else {
    return [...problems, 'resolution.outcome: must be "succeeded" or "failed" (or give {"action": "retry"})'];
  }
  problems.push(...textProblems(resolution, 'evidence', resolutionLimits.evidence, true, 'resolution.'));
  return problems;
}

/**
 * Why what Oen shows (Oen was asked, and answered) contradicts a person's resolution of an Oen
 * refund; undefined when it bears it out. `succeeded` needs Oen to show our refund; `failed` and a
 * retry need the transaction still charged with nothing refunded (money-safety rule 6: `failed` only
 * where the provider provably did not refund; rule 2: sent again only when Oen shows no refund).
 */
export function oenContradiction(resolution: Resolution, { kind, evidence }: Exclude<OenShows, { kind: 'unreachable' }>): string | undefined {
  const needs = 'outcome' in resolution && resolution.outcome === 'succeeded' ? 'refunded' : 'charged';
  if (kind === needs) return undefined;
  if (kind === 'refunded') return `Oen shows it refunded: resolve it as succeeded (${evidence})`;
  if (kind === 'charged')
    return `Oen shows the transaction still charged with nothing refunded, so it is not resolved as succeeded: resolve it as failed, or send it again (${evidence})`;
  const asked = 'action' in resolution ? 'sent again' : `resolved as ${resolution.outcome}`;
  return `Oen shows neither this refund nor the transaction still charged with nothing refunded, so it is not ${asked}: ${evidence}`;
}

/** A resolution as a decision's reason reads: "as succeeded (reference P…)", "as failed", "sent again: <reason>". */
export function describeResolution(resolution: Resolution): string {
  if ('action' in resolution) return `sent again${resolution.reason ? `: ${resolution.reason}` : ''}`;
  return resolution.outcome === 'succeeded' ? `as succeeded (reference ${resolution.providerReference})` : 'as failed';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownFields(value: Record<string, unknown>, known: readonly string[], prefix: string): string[] {
  return Object.keys(value)
    .filter((field) => !known.includes(field))
    .map((field) => `${prefix}${field}: is not a field it takes`);
}

/** A text field: a string of at most `max` characters; `required` ones present and not blank. */
function textProblems(value: Record<string, unknown>, field: string, max: number, required: boolean, prefix = ''): string[] {
  const text = value[field];
  if (text === undefined) return required ? [`${prefix}${field}: is required`] : [];
  if (typeof text !== 'string') return [`${prefix}${field}: must be a string`];
  if (required && text.trim() === '') return [`${prefix}${field}: must not be empty`];
  return text.length > max ? [`${prefix}${field}: must be at most ${max} characters`] : [];
}

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
