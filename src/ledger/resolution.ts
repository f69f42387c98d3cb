import type { DecisionRecord } from '../domain/operator.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { Database } from './database.js';
import { notAMove, writeMove, type Claimant } from './moves.js';
import { toRecord } from './refund-row.js';
import { LedgerError, RefundLedger } from './refunds.js';

/** A resolution's move from requires_attention: made (`moved: true`, also when an earlier attempt made it), or not, with the row as it is. */
export type ResolutionMove = { moved: true; record: RefundRecord } | { moved: false; record: RefundRecord };

/** A proof presented by a run: whose it is now — this run's, or the run that used it first. */
export type ProofClaim = { claimed: true } | { claimed: false; usedBy: { workflowId: string; runId: string; at: string } };

export interface ProofUse {
  /** Hex SHA-256 of the signed statement (decisionStatement): the proof's identity. */
  statementSha256: string;
  action: string;
  refundId: string;
  workflowId: string;
  runId: string;
}

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
   * Claims a signed decision for the run presenting it, before the run acts on it: the first run
   * claims it; the same run again (a retried step) still holds it; any other run is answered with the
   * run that used it. One row per proof, so two runs presenting one proof at once cannot both hold it.
   */
  async claimProof(use: ProofUse): Promise<ProofClaim> {
    await this.db.query(
      `INSERT INTO decision_proofs_used (statement_sha256, action, refund_id, workflow_id, run_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (statement_sha256) DO NOTHING`,
      [use.statementSha256, use.action, use.refundId, use.workflowId, use.runId],
    );
    const { rows } = await this.db.query<{ workflow_id: string; run_id: string; used_at: Date | string }>(
      'SELECT workflow_id, run_id, used_at FROM decision_proofs_used WHERE statement_sha256 = $1',
      [use.statementSha256],
    );
    const [row] = rows;
    if (!row) throw new LedgerError(`the claim of a ${use.action} proof for ${use.refundId} was not kept`);
    if (row.workflow_id === use.workflowId && row.run_id === use.runId) return { claimed: true };
    return { claimed: false, usedBy: { workflowId: row.workflow_id, runId: row.run_id, at: new Date(row.used_at).toISOString() } };
  }

  /**
   * Carries out the decision: the refund settles (succeeded, failed) or is claimed to be sent again
   * (submitting), only if its row is still as the resolution read it — reconciliation, or another
   * resolution, that moved or wrote it meanwhile wins, and this one is answered `moved: false` with
   * the row as it is. The same move made by an earlier attempt of the step (the decision it carries
   * is already the row's last) answers `moved: true`.
   */
  async moveAsDecided(
    before: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt' | 'version'>,
    to: RefundStatus,
    fields: TransitionFields & { decisions: DecisionRecord[] },
    confirmed = false,
    claimant?: Claimant,
  ): Promise<ResolutionMove> {
    const refused = notAMove('resolution', before.status, to);
    if (refused) throw new LedgerError(refused);
    const row = await writeMove(this.db, { kind: 'resolution', refundId: before.refundId, to, fields, asRead: before, confirmed, claimant });
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
  async settle(refundId: string, to: RefundStatus, fields: TransitionFields, heldBy?: string): Promise<RefundRecord> {
    const row = await writeMove(this.db, { kind: 'resolution', refundId, to, fields, heldBy });
    if (row) return toRecord(row);
    const current = await this.refunds.get(refundId);
    if (current?.status === to) return current;
    throw new LedgerError(`Refund ${refundId} is ${current?.status ?? 'not in the ledger'}; a resolution cannot record it ${to}`);
  }
}

function sameDecision(a: Pick<DecisionRecord, 'action' | 'at' | 'by'>, b: Pick<DecisionRecord, 'action' | 'at' | 'by'>): boolean {
  return a.action === b.action && a.at === b.at && a.by.id === b.by.id;
}
