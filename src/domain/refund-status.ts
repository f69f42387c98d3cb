import type { RecordError } from './failures.js';
import type { DecisionRecord } from './operator.js';

/**
 * A refund's statuses and the one table of the moves between them: who may move a refund from
 * where to where. The ledger writes every move through one statement (src/ledger/moves.ts) and
 * refuses any move this table does not hold. Which writer owns which column of a refund row:
 * docs/engine.md, "Who writes what".
 */

export const refundStatuses = ['received', 'awaiting_approval', 'submitting', 'succeeded', 'failed', 'requires_attention', 'cancelled'] as const;

export type RefundStatus = (typeof refundStatuses)[number];

/** Statuses after which a refund of the same Oen transaction may be tried again (under a new refund id). */
export const closedWithoutRefund: readonly RefundStatus[] = ['failed', 'cancelled'];

/** Statuses with nothing left to do. `requires_attention` is not one: a person, or reconciliation, must act. */
export const finalStatuses: readonly RefundStatus[] = ['succeeded', 'failed', 'cancelled'];

/** What a move writes beside the status. */
export interface TransitionFields {
  providerReference?: string;
  /** Set with a failure; cleared (null) by a status that has none. */
  error?: RecordError | null;
  /** Decisions this move carries out (approvals, a rejection, a cancel, a resolution): appended to the record's. */
  decisions?: DecisionRecord[];
}

/**
 * Who moves a refund: its own run (through the ledger activities), reconciliation on the provider's
 * evidence, or a person's resolution of a refund in requires_attention (src/workflows/resolve.ts).
 */
export type MoveWriter = 'run' | 'reconciliation' | 'resolution';

/**
 * Every move a refund may make, and who may make it. `received` is reached only by opening a refund
 * (src/ledger/refunds.ts `open`); a refund id ends once, so no move leads back to it.
 */
export const refundMoves: Readonly<Record<MoveWriter, Partial<Record<RefundStatus, readonly RefundStatus[]>>>> = {
  run: {
    awaiting_approval: ['received'],
    submitting: ['received', 'awaiting_approval'],
    succeeded: ['submitting', 'requires_attention'],
    failed: ['received', 'submitting', 'requires_attention'],
    requires_attention: ['submitting'],
    cancelled: ['received', 'awaiting_approval'],
  },
  reconciliation: {
    // A refund whose run ended (terminated) before anything was sent.
    cancelled: ['received', 'awaiting_approval'],
    // Oen shows the refund: a stuck submission, or one a person was to look at, settles.
    succeeded: ['submitting', 'requires_attention'],
    // Oen does not show a refund the ledger holds as succeeded, or shows one it holds as failed (a
    // late refund); or a submission stays unsettled.
    requires_attention: ['succeeded', 'failed', 'submitting'],
    // A claim to send again (at most once per refund), or a stale submission taken over.
    submitting: ['requires_attention', 'submitting'],
  },
  resolution: {
    // A person's word (MWD), or one Oen bears out; or the end of the send a person asked for.
    succeeded: ['requires_attention', 'submitting'],
    failed: ['requires_attention', 'submitting'],
    // A person asks for it to be sent again (Oen only, and only while Oen shows it still charged).
    submitting: ['requires_attention'],
    // That send ended without proof either way.
    requires_attention: ['submitting'],
  },
};

/** The statuses `writer` may move a refund to `to` from (none: the move is not theirs to make). */
export function movesInto(writer: MoveWriter, to: RefundStatus): readonly RefundStatus[] {
  return refundMoves[writer][to] ?? [];
}

/** Whether `writer` may move a refund from `from` to `to`. */
export function mayMove(writer: MoveWriter, from: RefundStatus, to: RefundStatus): boolean {
  return movesInto(writer, to).includes(from);
}
