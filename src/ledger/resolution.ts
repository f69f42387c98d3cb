import type { DecisionRecord } from '../domain/operator.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { Database } from './database.js';
import { notAMove, writeMove, type Claimant } from './moves.js';
import { LedgerError, RefundLedger, toRecord } from './refunds.js';

export type Decided = { moved: true; record: RefundRecord } | { moved: false; record: RefundRecord };

/**
 * The ledger side of a person's resolution of a refund in requires_attention
 * (src/workflows/resolve.ts): its moves, written by `writeMove` as the writer `resolution`
 * (src/domain/refund-status.ts).
 */
export class ResolutionLedger {
  private readonly refunds: RefundLedger;

  constructor(private readonly db: Database) {
    this.refunds = new RefundLedger(db);
  }

  async get(refundId: string): Promise<RefundRecord | undefined> {
    return this.refunds.get(refundId);
  }

  /**
   * Carries out the decision: the refund settles (succeeded, failed) or is claimed to be sent again
   * (submitting), only if its row is still as the resolution read it — reconciliation, or another
   * resolution, that moved or wrote it meanwhile wins, and this one is answered `moved: false` with
   * the row as it is. The same move made by an earlier attempt of the step (the decision it carries
   * is already the row's last) answers `moved: true`.
   */
  async decide(
    before: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt' | 'version'>,
    to: RefundStatus,
    fields: TransitionFields & { decisions: DecisionRecord[] },
    confirmed = false,
    claimant?: Claimant,
  ): Promise<Decided> {
    const refused = notAMove('resolution', before.status, to);
    if (refused) throw new LedgerError(refused);
    const row = await writeMove(this.db, { by: 'resolution', refundId: before.refundId, to, fields, asRead: before, confirmed, claimant });
    if (row) return { moved: true, record: toRecord(row) };
    const record = await this.refunds.get(before.refundId);
    if (!record) throw new LedgerError(`No refund ${before.refundId} in the ledger`);
    const last = record.decisions?.at(-1);
    const carried = fields.decisions.at(-1);
    const madeEarlier = record.status === to && last !== undefined && carried !== undefined && sameDecision(last, carried);
    return { moved: madeEarlier, record };
  }

  /**
   * How the send a resolution asked for ended (from submitting), recorded as a refund run records
   * its end: the same status again changes nothing; any other move is refused with the status. With
   * `heldBy` (the resolution's workflow id), only while the claim is still that resolution's.
   */
  async end(refundId: string, to: RefundStatus, fields: TransitionFields, heldBy?: string): Promise<RefundRecord> {
    const row = await writeMove(this.db, { by: 'resolution', refundId, to, fields, heldBy });
    if (row) return toRecord(row);
    const current = await this.refunds.get(refundId);
    if (current?.status === to) return current;
    throw new LedgerError(`Refund ${refundId} is ${current?.status ?? 'not in the ledger'}; a resolution cannot record it ${to}`);
  }
}

function sameDecision(a: Pick<DecisionRecord, 'action' | 'at' | 'by'>, b: Pick<DecisionRecord, 'action' | 'at' | 'by'>): boolean {
  return a.action === b.action && a.at === b.at && a.by.id === b.by.id;
}
