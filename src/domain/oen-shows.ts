/**
 * What Oen shows about one refund's transaction, with the evidence in words: the one answer to
 * "what does Oen show?" that a refund's check-then-act, reconciliation and a person's resolution
 * all read. Judged from Oen's list by `oenShows` (src/providers/oen/shows.ts); it lives here because
 * the domain's decisions read it (src/domain/reconcile-decision.ts, resolution.ts) and the domain
 * imports no provider.
 *
 * It crosses workflow history (the answer of `inspectOenRefunds`): its kinds and field keep their
 * names, or a run recorded before a rename would read an answer it does not know.
 */
export type OenShows =
  /** Our refund: the transaction refunded, by the refund's amount. */
  | { kind: 'refunded'; evidence: string }
  /** The transaction still charged, nothing refunded. */
  | { kind: 'charged'; evidence: string }
  /** Anything else (another amount refunded, a status we cannot explain, the transaction not listed): a person decides. */
  | { kind: 'unexplained'; evidence: string }
  /** Oen's list could not be read (Oen failed, did not answer, or refused the request): nothing is known. */
  | { kind: 'unreachable'; evidence: string };
