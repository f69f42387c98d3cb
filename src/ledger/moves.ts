import { finalStatuses, mayMove, movesInto, type MoveWriter, type RefundStatus, type TransitionFields } from '../domain/refund-status.js';
import type { Queryable } from './database.js';
import type { RefundRow } from './refund-row.js';

/** A row as reconciliation or a resolution read it: the move is made only if it is still so (status and version). */
export interface AsRead {
  status: RefundStatus;
  updatedAt: string;
  version?: number | undefined;
}

/** The run that claims a refund (moves it to submitting), as Temporal names it. */
export interface Claimant {
  workflowId: string;
  runId: string;
}

/** A move of a refund's status, by its writer (`kind`: src/domain/refund-status.ts's MoveWriter). */
export type Move = (
  | { kind: 'run'; refundId: string; to: RefundStatus; fields?: TransitionFields }
  | { kind: 'reconciliation'; refundId: string; to: RefundStatus; fields?: TransitionFields; asRead: AsRead }
  /**
   * A person's resolution: from requires_attention only if the row is still as read (`asRead`); the
   * end of the send it asked for, from submitting, like a run's move. `confirmed`: the provider
   * showed the refund (Oen listed it refunded), so reconciliation need not ask again.
   */
  | { kind: 'resolution'; refundId: string; to: RefundStatus; fields?: TransitionFields; asRead?: AsRead; confirmed?: boolean }
) & {
  /** A move to submitting records its claimant: reconciliation looks at that run before it moves the refund. */
  claimant?: Claimant | undefined;
  /**
   * The end of a claimed send, made only while the claim is this workflow's (or names nobody, a row
   * claimed before claims were kept): a run another writer took the refund over from moves nothing.
   */
  heldBy?: string | undefined;
};

/**
 * "Still as it was read": the row's version (every write bumps it, migration 10) is the one read.
 * A record read before versions were kept has none: its last update's millisecond stands in.
 * `time` and `version` are the parameters' numbers.
 */
export function asRead(time: number, version: number): string {
  return `(CASE WHEN $${version}::int IS NULL THEN date_trunc('milliseconds', updated_at) = $${time}::timestamptz ELSE version = $${version}::int END)`;
}

/**
 * The one statement that moves a refund's status (src/domain/refund-status.ts holds the moves; the
 * columns each writer owns are in docs/engine.md, "Who writes what"). Answers the row as moved, or
 * undefined when the row was not in a status the move may start from (the caller says why).
 *
 * Every move sets the status, the error (when given), `completed_at` (on a final status) and the
 * reference (kept unless given), and appends the decisions it carries (who approved, rejected,
 * cancelled or resolved it). A move with `asRead` (reconciliation's, a resolution's from
 * requires_attention) is made only from the status read, if the row is still as read. A claim to
 * send again (reconciliation's or a resolution's move to `submitting`) starts a new retry window
 * and clears the reference (one a mismatch left is no success to rely on); reconciliation's claim
 * is counted, so it sends a refund again at most once. `confirmed_at` is reconciliation's (set on
 * its move to `succeeded`, the provider showed it; cleared by its other moves) and a resolution's
 * that Oen bore out; a run's moves leave it as it is.
 */
export async function writeMove(db: Queryable, move: Move): Promise<RefundRow | undefined> {
  const read = move.kind === 'run' ? undefined : move.asRead;
  // A resolution's move without a read is the end of the send it asked for: from submitting only.
  const startsFrom = read?.status ?? (move.kind === 'resolution' ? 'submitting' : undefined);
  const from = movesInto(move.kind, move.to).filter((status) => startsFrom === undefined || status === startsFrom);
  const byReconciliation = move.kind === 'reconciliation';
  const claim = move.kind !== 'run' && move.to === 'submitting';
  const { rows } = await db.query<RefundRow>(
    `UPDATE refunds SET
       status = $2,
       provider_reference = CASE WHEN $14::boolean THEN NULL ELSE COALESCE($3, provider_reference) END,
       error_code = CASE WHEN $4::boolean THEN $5 ELSE error_code END,
       error_message = CASE WHEN $4::boolean THEN $6 ELSE error_message END,
       completed_at = CASE WHEN $2 = ANY($8::text[]) THEN now() ELSE NULL END,
       confirmed_at = CASE WHEN $15::boolean THEN now() WHEN NOT $9::boolean THEN confirmed_at WHEN $2 = 'succeeded' THEN now() ELSE NULL END,
       reconcile_resubmits = reconcile_resubmits + CASE WHEN $9::boolean AND $14::boolean THEN 1 ELSE 0 END,
       retrying_since = CASE WHEN $14::boolean THEN NULL ELSE retrying_since END,
       decisions = decisions || $12::jsonb,
       claimed_by_workflow = CASE WHEN $2 = 'submitting' AND $16::text IS NOT NULL THEN $16 ELSE claimed_by_workflow END,
       claimed_by_run = CASE WHEN $2 = 'submitting' AND $16::text IS NOT NULL THEN $17 ELSE claimed_by_run END,
       updated_at = now()
     WHERE refund_id = $1 AND status = ANY($7::text[])
       AND (NOT $13::boolean OR ${asRead(10, 11)})
       AND (NOT ($9::boolean AND $14::boolean) OR reconcile_resubmits = 0)
       AND ($18::text IS NULL OR claimed_by_workflow IS NULL OR claimed_by_workflow = $18)
     RETURNING *`,
    [
      move.refundId,
      move.to,
      move.fields?.providerReference ?? null,
      move.fields?.error !== undefined,
      move.fields?.error?.code ?? null,
      move.fields?.error?.message ?? null,
      from,
      finalStatuses,
      byReconciliation,
      read?.updatedAt ?? null,
      read?.version ?? null,
      JSON.stringify(move.fields?.decisions ?? []),
      read !== undefined,
      claim,
      move.kind === 'resolution' && move.confirmed === true,
      move.claimant?.workflowId ?? null,
      move.claimant?.runId ?? null,
      move.heldBy ?? null,
    ],
  );
  return rows[0];
}

/** The reason a writer may not make a move at all (not in src/domain/refund-status.ts), or undefined. */
export function notAMove(by: MoveWriter, from: RefundStatus, to: RefundStatus): string | undefined {
  return mayMove(by, from, to) ? undefined : `${writerNames[by]} does not move a refund from ${from} to ${to}`;
}

const writerNames: Record<MoveWriter, string> = { run: 'a refund run', reconciliation: 'reconciliation', resolution: 'a resolution' };
