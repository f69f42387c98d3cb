/**
 * Who acts on refunds, as the API verified them (docs/operations.md, "Who may do what"): a person
 * signed in through OIDC, a named API key, or the deprecated shared OPERATOR_TOKEN. Roles nest: an
 * admin (who manages keys) may do what an approver may, an approver what an operator may, an
 * operator what a viewer may.
 */
export const roles = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

export type ActorSource = 'oidc' | 'api-key' | 'operator-token';

export interface Actor {
  /** Stable and unique: `oidc:<issuer's sub>`, `key:<name>`, or `operator-token`. */
  id: string;
  /** For people to read: the token's name or e-mail claim, or the key's name. */
  name: string;
  role: Role;
  via: ActorSource;
  /**
   * The person the credential belongs to (src/domain/four-eyes.ts): an OIDC identity's subject, a
   * key's person. None for OPERATOR_TOKEN, which anyone holding it may present.
   */
  person?: string;
  /** Another person who was shown the key when it was made (its granter, or the one who confirmed the grant). */
  heldBy?: string;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** Whether `role` may do what `needed` may. */
export function hasRole(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed);
}

/** "alice (approver, key:alice)" for messages and the ledger. */
export function describeActor(actor: Pick<Actor, 'id' | 'name' | 'role'>): string {
  return actor.name === actor.id ? `${actor.name} (${actor.role})` : `${actor.name} (${actor.role}, ${actor.id})`;
}

/**
 * Who the audit trail names for what reached a run through Temporal itself (a run started there, a
 * Temporal Cancel or Terminate): Temporal does not say which person it was.
 */
export const throughTemporal = { id: 'temporal', name: 'through Temporal, person unknown' } as const;
