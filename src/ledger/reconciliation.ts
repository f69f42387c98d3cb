import { orderRefundId } from '../domain/order.js';
import type { ReconcileReport, Resubmission } from '../domain/reconcile.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { oenRefundRequested } from '../domain/schemas/refund-request.js';
import type { Database } from './database.js';
import { asRead, notAMove, writeMove, type Claimant } from './moves.js';
import { toRecord, type RefundRow } from './refund-row.js';
import { RefundLedger, transactionHeld } from './refunds.js';

export type ApplyResult = { changed: true; record: RefundRecord } | { changed: false; record: RefundRecord };

export class ReconciliationLedger {
  private readonly refunds: RefundLedger;

  constructor(private readonly db: Database) {
    this.refunds = new RefundLedger(db);
  }

  /**
   * Oen refunds to look at, a page at a time in refund id order: in requires_attention; in
   * submitting since before `submittingBefore`; succeeded since `succeededSince` and not yet
   * confirmed at the provider; failed since `succeededSince` (a refund Oen carried out late is a
   * refund the ledger says never happened), unless a later refund of the transaction was asked for —
   * Oen's list then may show that one, and says nothing about this.
   */
  async oenCandidates(filter: { submittingBefore: Date; succeededSince: Date; after?: string; limit: number }): Promise<RefundRecord[]> {
    const { rows } = await this.db.query<RefundRow>(
      `SELECT * FROM refunds
       WHERE provider = 'oen' AND ($1::text IS NULL OR refund_id > $1)
         AND (status = 'requires_attention'
              OR (status = 'submitting' AND updated_at < $2)
              OR (status = 'succeeded' AND completed_at >= $3 AND confirmed_at IS NULL)
              OR (status = 'failed' AND completed_at >= $3 AND NOT EXISTS (
                    SELECT 1 FROM refunds later WHERE later.provider = 'oen' AND later.transaction_hid = refunds.transaction_hid
                      AND later.refund_id <> refunds.refund_id AND later.created_at >= refunds.created_at)))
       ORDER BY refund_id LIMIT $4`,
      [filter.after ?? null, filter.submittingBefore, filter.succeededSince, filter.limit],
    );
    return rows.map(toRecord);
  }

  /**
   * Refunds a run may have left behind when it ended without settling them (terminated): received or
   * awaiting approval (either provider), or MWD submitting, untouched since before `before`; a page at
   * a time in refund id order, with the MWD send left unanswered, if any. (Oen submitting is looked at
   * with Oen's evidence, oenCandidates.)
   */
  async runEndedCandidates(filter: { before: Date; after?: string; limit: number }): Promise<Array<{ record: RefundRecord; unansweredBy?: string }>> {
    const { rows } = await this.db.query<RefundRow & { unanswered_send: string | null }>(
      `SELECT * FROM refunds
       WHERE ($1::text IS NULL OR refund_id > $1) AND updated_at < $2
         AND (status IN ('received', 'awaiting_approval') OR (provider = 'mwd' AND status = 'submitting'))
       ORDER BY refund_id LIMIT $3`,
      [filter.after ?? null, filter.before, filter.limit],
    );
    return rows.map((row) => ({ record: toRecord(row), ...(row.unanswered_send !== null && { unansweredBy: row.unanswered_send }) }));
  }

  /** MWD refunds nobody can settle by asking: in requires_attention, or in submitting since before `submittingBefore`. */
  async mwdUnresolved(filter: { submittingBefore: Date; limit: number }): Promise<{ total: number; refunds: RefundRecord[] }> {
    const where = `provider = 'mwd' AND (status = 'requires_attention' OR (status = 'submitting' AND updated_at < $1))`;
    const [{ rows }, { rows: total }] = await Promise.all([
      this.db.query<RefundRow>(`SELECT * FROM refunds WHERE ${where} ORDER BY updated_at LIMIT $2`, [filter.submittingBefore, filter.limit]),
      this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM refunds WHERE ${where}`, [filter.submittingBefore]),
    ]);
    return { total: total[0]?.n ?? 0, refunds: rows.map(toRecord) };
  }

  /**
   * Moves a refund on reconciliation's evidence, only if it is still as it was read (status, and last
   * update to the millisecond): a refund its own run moved in the meantime is left to that run. The same move
   * already made (an earlier attempt of this step) answers changed, with the record as it stands —
   * except a claim to send again, which only one claimant ever gets.
   */
  async apply(
    before: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt' | 'version'>,
    to: RefundStatus,
    fields: TransitionFields = {},
    claimant?: Claimant,
  ): Promise<ApplyResult> {
    const refused = notAMove('reconciliation', before.status, to);
    if (refused) throw new Error(refused);
    // A failed refund taken back to a person while a new refund of its transaction opened meanwhile:
    // the database refuses the second holder; that refund's run owns the transaction now.
    const row = await writeMove(this.db, { kind: 'reconciliation', refundId: before.refundId, to, fields, asRead: before, claimant }).catch((err: unknown) => {
      if (transactionHeld(err)) return undefined;
      throw err;
    });
    const record = await this.refunds.get(before.refundId);
    if (!record) throw new Error(`No refund ${before.refundId} in the ledger`);
    if (row) return { changed: true, record };
    // A claim to send again is exclusive: a second claimant (another run) must not send too. A claim
    // whose answer was lost leaves the refund in submitting, which the next run finds as stuck.
    // (By status, not by time: the earlier attempt may have written within the same millisecond.)
    const sameMoveMadeEarlier = to !== 'submitting' && to !== before.status && record.status === to;
    return { changed: sameMoveMadeEarlier, record };
  }

  /**
   * Puts reconciliation's evidence on a refund left in requires_attention, if it is still as it was
   * read and the error says something else; true when it was written.
   */
  async attachEvidence(before: Pick<RefundRecord, 'refundId' | 'updatedAt' | 'version'>, error: { code: string; message: string }): Promise<boolean> {
    const { rows } = await this.db.query<{ refund_id: string }>(
      `UPDATE refunds SET error_code = $3, error_message = $4, updated_at = now()
       WHERE refund_id = $1 AND status = 'requires_attention' AND ${asRead(2, 5)}
         AND (error_code, error_message) IS DISTINCT FROM ($3, $4)
       RETURNING refund_id`,
      [before.refundId, before.updatedAt, error.code, error.message, before.version ?? null],
    );
    return rows.length > 0;
  }

  /** The provider showed these succeeded refunds refunded: they are not looked at again. */
  async markConfirmed(refundIds: string[]): Promise<void> {
    await this.db.query(`UPDATE refunds SET confirmed_at = now() WHERE refund_id = ANY($1::text[]) AND status = 'succeeded'`, [refundIds]);
  }

  /** The run that last claimed the refund (RefundLedger.claimant). */
  async claimant(refundId: string): Promise<Claimant | undefined> {
    return this.refunds.claimant(refundId);
  }

  /** How many times reconciliation claimed this refund to send it again (at most once). */
  async resubmits(refundId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT reconcile_resubmits AS n FROM refunds WHERE refund_id = $1', [refundId]);
    return rows[0]?.n ?? 0;
  }

  /** The `data` of the event that first asked for this refund, if it came through the API. */
  private async originalRequest(refundId: string): Promise<unknown> {
    const { rows } = await this.db.query<{ data: unknown }>(
      `SELECT e.event -> 'data' AS data FROM refund_requests r JOIN inbox_events e ON e.event_id = r.event_id WHERE r.refund_id = $1`,
      [refundId],
    );
    return rows[0]?.data;
  }

  /**
   * The request to send an Oen refund again: the one order management sent (from the event inbox,
   * reason, merchant and product details included), or, for a refund an order.cancelled event
   * started, the full refund of the transaction it names. A refund started by hand from a Temporal
   * client has none (docs/reconciliation.md, "Sending again, safely").
   */
  async requestToSendAgain(record: Pick<RefundRecord, 'refundId' | 'orderId' | 'transactionHid' | 'amount'>): Promise<Resubmission> {
    const original = await this.originalRequest(record.refundId);
    if (original !== undefined) {
      const parsed = oenRefundRequested.safeParse(original);
      if (parsed.success) return { request: parsed.data };
      return { impossible: 'the request order management sent cannot be read back as an Oen refund' };
    }
    if (record.transactionHid && record.refundId === orderRefundId(record.orderId, record.transactionHid)) {
      return {
        request: { refundId: record.refundId, provider: 'oen', orderId: record.orderId, transactionHid: record.transactionHid, amount: record.amount },
      };
    }
    return { impossible: 'the original request is not in the ledger (it did not come through the API): a person must send it' };
  }

  async saveReport(report: ReconcileReport): Promise<void> {
    await this.db.query(
      `INSERT INTO reconciliation_reports (run_id, workflow_id, started_at, finished_at, report) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (run_id) DO UPDATE SET finished_at = EXCLUDED.finished_at, report = EXCLUDED.report`,
      [report.runId, report.workflowId, report.startedAt, report.finishedAt ?? new Date().toISOString(), JSON.stringify(report)],
    );
  }

  /** The latest reports, newest first. */
  async reports(limit: number): Promise<ReconcileReport[]> {
    const { rows } = await this.db.query<{ report: ReconcileReport | string }>('SELECT report FROM reconciliation_reports ORDER BY finished_at DESC LIMIT $1', [
      limit,
    ]);
    return rows.map((row) => (typeof row.report === 'string' ? (JSON.parse(row.report) as ReconcileReport) : row.report));
  }
}
