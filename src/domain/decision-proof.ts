import * as ed25519 from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { isRole, type Actor, type Role } from './actor.js';

// Synchronous signing and checking (a workflow cannot await WebCrypto), in pure JS.
ed25519.hashes.sha512 = sha512;
const { bytesToHex, hexToBytes } = ed25519.etc;

/**
 * The API's proof that a decision on a refund (approve, reject, cancel, resolve) comes from a person
 * it verified: the decision and its actor, signed with the API's Ed25519 key (OPERATOR_SIGNING_KEY).
 * A run checks it against the public keys its worker was given (OPERATOR_VERIFY_KEYS) before it
 * accepts the decision, so an update sent by hand from the Web UI or the `temporal` CLI, or a proof
 * taken from one decision and put on another, is refused (docs/operations.md, "Who may do what").
 * Pure and deterministic: workflows verify with it.
 */
export type DecisionAction = 'approve' | 'reject' | 'cancel' | 'resolve';

/** The role a run's own decisions need: the API's routes require it, and the run checks it again. */
export const decisionRole = { approve: 'approver', reject: 'approver', cancel: 'operator' } as const satisfies Record<Exclude<DecisionAction, 'resolve'>, Role>;

export interface DecisionProof {
  action: DecisionAction;
  refundId: string;
  /** The run the decision is for; a resolution, which starts its own run, names none. */
  runId?: string;
  /**
   * A resolution's: the workflow it is for (`resolve:<refundId>`); the first run of it to present the
   * proof claims it in the ledger, and no other run may use it (src/activities/resolve.ts). Signed only
   * when present, so the other decisions' statements, and their recorded histories, are as they were.
   */
  workflowId?: string;
  actor: Actor;
  /** The API request it came with (the audit trail's request id). */
  requestId: string;
  /** Epoch ms when the API signed it. */
  issuedAt: number;
  /** Hex Ed25519 signature of `decisionStatement` (the proof without it, and the decision's details). */
  signature: string;
}

/** How long a signed decision stays good for: long enough for a slow delivery, too short to keep. */
export const PROOF_LIFETIME_MS = 10 * 60_000;

export type UnsignedProof = Omit<DecisionProof, 'signature'>;

/**
 * The exact text signed: every field in a fixed order, each JSON-encoded (so no field can run into
 * the next), then `details` — what was decided (the reason; for a resolution its outcome and evidence).
 */
export function decisionStatement(proof: UnsignedProof, details: string): Uint8Array {
  const { action, refundId, runId, workflowId, actor, requestId, issuedAt } = proof;
  // The person fields, then the workflow, come last and only when present, so a proof signed before
  // either existed reads as it was signed (the tails differ in length: two fields, one, or three).
  const people = actor.person === undefined ? [] : [actor.person, actor.heldBy ?? ''];
  const fields = [
    'refundflow-decision/v1',
    action,
    refundId,
    runId ?? '',
    actor.id,
    actor.name,
    actor.role,
    actor.via,
    requestId,
    issuedAt,
    details,
    ...people,
    ...(workflowId !== undefined ? [workflowId] : []),
  ];
  return new TextEncoder().encode(fields.map((field) => JSON.stringify(field)).join('\n'));
}

/** Signs a decision with `secretKeyHex` (32 bytes, hex): what the API sends to a run. */
export function signDecision(proof: UnsignedProof, details: string, secretKeyHex: string): DecisionProof {
  const signature = ed25519.sign(decisionStatement(proof, details), hexToBytes(secretKeyHex));
  return { ...proof, signature: bytesToHex(signature) };
}

/** The public key (hex) of a signing key (hex): what a worker is given to check decisions. */
export function verifyKeyOf(secretKeyHex: string): string {
  return bytesToHex(ed25519.getPublicKey(hexToBytes(secretKeyHex)));
}

/** A new signing key (hex), from the platform's random source. */
export function newSigningKey(): string {
  return bytesToHex(ed25519.utils.randomSecretKey());
}

/**
 * Why `proof` does not prove this decision: undefined when it is well-formed, signed by one of
 * `verifyKeys`, names `expected` action, refund and run, and was signed within PROOF_LIFETIME_MS of `now`.
 */
export function proofProblem(
  proof: unknown,
  expected: { action: DecisionAction; refundId: string; runId?: string; details: string; now: number },
  verifyKeys: readonly string[],
): string | undefined {
  if (!isProofShaped(proof)) return 'the decision carries no proof of who made it (the API signs every decision it sends)';
  if (proof.action !== expected.action) return `the proof is for ${proof.action}, not ${expected.action}`;
  if (proof.refundId !== expected.refundId) return `the proof is for refund ${proof.refundId}, not ${expected.refundId}`;
  if (expected.runId !== undefined && proof.runId !== expected.runId) return `the proof is for run ${proof.runId ?? '(none)'}, not this run`;
  const age = expected.now - proof.issuedAt;
  if (age > PROOF_LIFETIME_MS || age < -PROOF_LIFETIME_MS)
    return `the proof was signed ${Math.round(age / 1000)} s ago; it is good for ${PROOF_LIFETIME_MS / 1000} s`;
  const { signature, ...unsigned } = proof;
  const statement = decisionStatement(unsigned, expected.details);
  const signed = verifyKeys.some((key) => {
    try {
      return ed25519.verify(hexToBytes(signature), statement, hexToBytes(key));
    } catch {
      return false;
    }
  });
  return signed ? undefined : 'the proof is not signed by a key this worker trusts (OPERATOR_VERIFY_KEYS)';
}

function isProofShaped(proof: unknown): proof is DecisionProof {
  if (typeof proof !== 'object' || proof === null) return false;
  const p = proof as Record<string, unknown>;
  const actor = p.actor as Record<string, unknown> | null | undefined;
  return (
    typeof p.action === 'string' &&
    typeof p.refundId === 'string' &&
    (p.runId === undefined || typeof p.runId === 'string') &&
    (p.workflowId === undefined || typeof p.workflowId === 'string') &&
    typeof p.requestId === 'string' &&
    typeof p.issuedAt === 'number' &&
    typeof p.signature === 'string' &&
    /^[0-9a-f]{128}$/i.test(p.signature) &&
    typeof actor === 'object' &&
    actor !== null &&
    typeof actor.id === 'string' &&
    typeof actor.name === 'string' &&
    isRole(actor.role) &&
    (actor.via === 'oidc' || actor.via === 'api-key' || actor.via === 'operator-token') &&
    (actor.person === undefined || typeof actor.person === 'string') &&
    (actor.heldBy === undefined || typeof actor.heldBy === 'string')
  );
}
