import type { ErrorRule } from '../errors.js';

/**
 * What each answer of Oen's means (docs/providers.md, "Errors", has the whole table, from Oen's
 * result-code table and its HTTP statuses). One failure type has one kind everywhere, so Temporal's
 * retry policy can name the final ones.
 *
 * Oen documents four HTTP statuses (200, 400, 401, 500) and a result code in an envelope. A
 * documented refusal code in that envelope, on a status Oen documents for it, is a refusal given
 * before acting. Anything else — a status Oen does not give, a body that is not the envelope, a
 * code we do not know, F0001 — proves nothing about a refund or a cancel: the engine asks Oen
 * what happened before anything else (money-safety rule 2). A read changes nothing, so it is
 * asked again on any answer but the two that cannot improve (unauthorised, no such order).
 */
export const oenRefusals: Record<string, ErrorRule> = {
  A0001: { type: 'OenA0001', kind: 'final', meaning: 'unauthorised (check OEN_TOKEN)', refusal: true },
  V0001: { type: 'OenV0001', kind: 'final', meaning: 'bad request', refusal: true },
  /** Final as an answer, but no refusal: the refund activity checks the transaction before concluding anything. */
  V0002: { type: 'OenV0002', kind: 'final', meaning: 'wrong transaction state' },
  T0001: { type: 'OenT0001', kind: 'final', meaning: 'transaction failed', refusal: true },
  T0002: { type: 'OenT0002', kind: 'final', meaning: 'CVV wrong', refusal: true },
  T0003: { type: 'OenT0003', kind: 'final', meaning: 'card expired', refusal: true },
  T0004: { type: 'OenT0004', kind: 'final', meaning: 'insufficient credit', refusal: true },
  T0005: { type: 'OenT0005', kind: 'final', meaning: 'authorisation refused', refusal: true },
};

/** The HTTP statuses Oen documents for a refusal (400, 401) or an answer (200). */
const refusalStatuses = new Set([200, 400, 401]);

export const oenF0001: ErrorRule = { type: 'OenF0001', kind: 'retryable', meaning: 'system error' };

/** A read that cannot improve by asking again. */
export const oenOrderNotFound: ErrorRule = { type: 'OenOrderNotFound', kind: 'final', meaning: 'no such order (HTTP 404)' };

/** Any other answer to a read: asked again within the retry window. */
export const oenListUnavailable: ErrorRule = {
  type: 'OenListUnavailable',
  kind: 'retryable',
  meaning: 'the transaction list could not be read; asking again',
};

/** Every fixed rule of Oen's table: the engine's final and refusal types are derived from it (final-error-types.ts). */
export const oenRules: readonly ErrorRule[] = [...Object.values(oenRefusals), oenF0001, oenOrderNotFound, oenListUnavailable];

const unknown = (type: ErrorRule['type'], meaning: string): ErrorRule => ({ type, kind: 'unknown', meaning });

/**
 * The rule for an answer that is not a readable success. `status` is the HTTP status; `code` the
 * envelope's result code, when the body is Oen's envelope; `write`: a refund or a cancel, which Oen
 * may have carried out whatever the answer says.
 */
export function oenAnswerRule(write: boolean, status: number, code: string | undefined): ErrorRule {
  if (!write) {
    if (status === 401 || code === 'A0001') return oenRefusals.A0001!;
    if (status === 404) return oenOrderNotFound;
    return oenListUnavailable;
  }
  if (code === 'F0001') return oenF0001;
  const refusal = code === undefined ? undefined : oenRefusals[code];
  if (refusal && refusalStatuses.has(status)) return refusal;
  if (status === 200 && (code === undefined || code === 'S0000')) {
    return unknown('OenMalformedResponse', 'an answer we cannot read; the request may have been carried out');
  }
  if (code === undefined) {
    return unknown(`OenHttp${status}`, `HTTP ${status} without Oen's answer; the request may have been carried out`);
  }
  if (refusal || code === 'S0000') {
    return unknown('OenUnexpectedAnswer', `code ${code} with HTTP ${status}, which Oen does not document; the request may have been carried out`);
  }
  return unknown('OenUnknownCode', 'a result code Oen does not document; the request may have been carried out');
}
