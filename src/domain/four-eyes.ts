import type { DecidedBy } from './operator.js';

/**
 * Four eyes are two people (money-safety rule 8; docs/operations.md, "Who may do what"). A decision
 * counts as the people who could have made it: the credential's person (an OIDC subject, a key's
 * person) and, for a key, the other person who was shown it when it was made — the granter, or the
 * one who confirmed the grant — since they could present it too. Two decisions are two people only
 * when those sets do not meet. A credential that names no person (the shared OPERATOR_TOKEN, an
 * update without the API's proof) is nobody in particular: it can never be one of two.
 * Pure and deterministic: refund and resolve runs count with it.
 */
export interface CountedDecision {
  by: DecidedBy;
  verified: boolean;
}

/**
 * The people behind a decision, or undefined when it names no one. Compared without case: "Ann" and
 * "ann" counted as one refuses at worst a second approval, while counted as two they would let one
 * person's grant under another spelling of their name pass as someone else.
 */
export function peopleBehind({ by, verified }: CountedDecision): string[] | undefined {
  if (!verified) return undefined;
  const person = (by.person ?? personOfLegacyId(by.id))?.toLowerCase();
  if (person === undefined) return undefined;
  const heldBy = by.heldBy?.toLowerCase();
  return heldBy !== undefined && heldBy !== person ? [person, heldBy] : [person];
}

/**
 * Why `next` is not a second person beside `earlier` (decisions already counted, which each `did`),
 * or undefined. `earlier` holds only decisions that name someone: each was checked by this first.
 */
export function secondPersonProblem(earlier: readonly CountedDecision[], next: CountedDecision, did = 'approved'): string | undefined {
  const people = peopleBehind(next);
  if (!people) {
    const why = next.verified ? 'the shared OPERATOR_TOKEN names no person' : "an update without the API's signed proof names no person";
    return `${next.by.name} cannot be one of two people: ${why}; use a named key or an OIDC sign-in`;
  }
  for (const before of earlier) {
    if (before.by.id === next.by.id) return `${next.by.name} ${did} already`;
    const shared = people.find((person) => peopleBehind(before)?.includes(person));
    if (shared !== undefined) return `${next.by.name} counts as ${shared}, who ${did} already (as ${before.by.name})`;
  }
  return undefined;
}

/** Decisions recorded before keys had persons: a key's person was its name, an OIDC identity's its subject. */
function personOfLegacyId(id: string): string | undefined {
  const match = /^(key|oidc):(.+)$/.exec(id);
  return match?.[2];
}
