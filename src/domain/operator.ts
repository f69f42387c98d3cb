import { describeActor, type Role } from './actor.js';
import type { DecisionAction, DecisionProof } from './decision-proof.js';

/**
 * An operator's approve, reject or cancel as it reaches a run: why (optional), the refund it is for
 * (the API always names it; a run refuses a decision naming another refund), and the API's signed
 * proof of who decided (src/domain/decision-proof.ts). The API takes `{ reason?, refundId? }` from the
 * person (its schema: src/domain/schemas/operator.ts) and adds the proof; a run checks the whole input
 * again with `operatorInputProblems` (an update may come from the Web UI or `temporal workflow update`).
 */
export interface OperatorInput {
  refundId?: string;
  reason?: string;
  proof?: DecisionProof;
  /**
   * Who decided, in free text: taken only by runs opened before decisions were signed (their
   * histories carry it); any other run refuses it (src/workflows/decided-by.ts).
   */
  by?: string;
}

export const operatorInputLimits = { refundId: 64, by: 200, reason: 500 } as const;

/** What is wrong with an update's argument, field by field; none for a good one or none given. */
export function operatorInputProblems(input: unknown): string[] {
  if (input === undefined || input === null) return [];
  if (typeof input !== 'object' || Array.isArray(input)) return ['input must be an object: {"reason": "…"}'];
  const problems: string[] = [];
  for (const [field, value] of Object.entries(input)) {
    if (field === 'proof') continue; // checked whole, against the worker's keys (proofProblem)
    if (!Object.hasOwn(operatorInputLimits, field)) {
      problems.push(`input has a field it does not take: ${field}`);
      continue;
    }
    const max = operatorInputLimits[field as keyof typeof operatorInputLimits];
    if (typeof value !== 'string') problems.push(`${field} must be a string`);
    else if (field !== 'reason' && value.length === 0) problems.push(`${field} must not be empty`);
    else if (value.length > max) problems.push(`${field} must be at most ${max} characters`);
  }
  return problems;
}

/** Who made a decision, as a run recorded it. */
export interface DecidedBy {
  id: string;
  name: string;
  role?: Role;
  /** The person whose credential it was, and another person shown that key (src/domain/four-eyes.ts). */
  person?: string;
  heldBy?: string;
}

/** Who decided, in words: "Ann (approver, key:ann)" where the record has their role, else their name. */
export function describeDecider(by: DecidedBy): string {
  return by.role ? describeActor({ ...by, role: by.role }) : by.name;
}

/** A decision on a refund as its record keeps it (the ledger's `decisions`, in order). */
export interface DecisionRecord {
  action: DecisionAction;
  by: DecidedBy;
  /** False for an update the embedded dev mode took from the Web UI or `temporal` without the API's proof. */
  verified: boolean;
  at: string;
  reason?: string;
  /** For a resolution: what the person showed, and, for Oen, what Oen showed. */
  evidence?: string;
}

/** Who an unverified decision is recorded as (embedded dev mode only: ALLOW_UNSIGNED_DECISIONS). */
export const unverifiedDecider: DecidedBy = { id: 'temporal-update', name: 'someone with access to Temporal (unverified)' };
