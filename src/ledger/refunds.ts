import { createHash } from 'node:crypto';
import { formatNtd } from '../domain/format.js';
import { closedWithoutRefund, finalStatuses, type RefundStatus, type TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';
import type { Database } from './database.js';
import { writeMove, type Claimant } from './moves.js';
import { toRecord, type RefundRow } from './refund-row.js';

/** What a refund asks, as a hash: the same refund id with another request must never resume it. */
export function requestHash(request: RefundRequested): string {
  const fields =
    request.provider === 'oen'
      ? ['oen', request.orderId, request.transactionHid, request.amount]
      : ['mwd', request.orderId, createHash('sha256').update(request.cardToken).digest('hex'), request.amount];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

/** "NT$1,000 of Oen transaction P… (order O-1)": a request, named for a person. */
function describeRequest(r: Pick<RefundRecord, 'provider' | 'orderId' | 'amount' | 'transactionHid'>, otherCardToken = false): string {
  const what = r.provider === 'oen' ? `Oen transaction ${r.transactionHid ?? '?'} (order ${r.orderId})` : `MWD order ${r.orderId}`;
  return `${formatNtd(r.amount)} of ${what}${otherCardToken ? ', another card token' : ''}`;
}

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
}

export type OpenResult =
  /** New, or live under this same workflow id with the same request (resumed). */
  | { opened: RefundRecord }
  /** This refund id has ended (succeeded, failed, cancelled) or went to a person: it ends once, and nothing is sent for it again. */
  | { settled: RefundRecord }
  /** Live under this workflow id, but the run carries another request: refused, both named. */
  | { differs: RefundRecord; reason: string }
  /** This refund is live under another workflow id: that run owns it. */
  | { inFlight: RefundRecord }
  /** Another refund of the same Oen transaction is live or succeeded. */
  | { conflict: RefundRecord };

const UNIQUE_VIOLATION = '23505';
const ONE_PER_TRANSACTION = 'refunds_one_per_oen_transaction';

/** The durable record of every refund: what the status API reads and what reconciliation checks. */
/** Whether an attempt may send the refund now; if not, the row that says why. */
export type SendClaim = { claimed: true } | { claimed: false; record: RefundRecord; unansweredBy?: string };

export class RefundLedger {
  constructor(readonly db: Database) {}

  /**
   * Records a refund as `received`, or says why this run must not act on it. A refund id ends once:
   * one that succeeded, failed, was cancelled or went to a person is answered `settled`, whichever
   * run asks (a re-dispatch, a slow start, a "start like this"), and is never opened again — a failed
   * or cancelled refund is asked again under a new refund id. Opening it again is a no-op for the run
   * that owns it (same workflow id and request: an activity retry, a Reset), `inFlight` while
   * another workflow id owns it, and `differs` for a run with another request. A second refund id for
   * an Oen transaction that already has a live or succeeded refund is refused by the database itself,
   * and answered with that refund. `runId` names the run that owns it, for operator decisions.
   */
  async open(request: RefundRequested, workflowId: string, runId?: string): Promise<OpenResult> {
    const transactionHid = request.provider === 'oen' ? request.transactionHid : null;
    const hash = requestHash(request);
    try {
      const row = await this.insert(request, workflowId, { status: 'received', runId });
      if (row) return { opened: toRecord(row) };
      const existing = await this.mustGetRow(request.refundId);
      const record = toRecord(existing);
      if (finalStatuses.includes(record.status) || record.status === 'requires_attention') return { settled: record };
      if (record.workflowId !== workflowId) return { inFlight: record };
      if (existing.request_hash !== null && existing.request_hash !== hash) {
        const asked = { provider: request.provider, orderId: request.orderId, amount: request.amount, transactionHid: transactionHid ?? undefined };
        const sameFields = describeRequest(record) === describeRequest(asked);
        return {
          differs: record,
          reason: `refund ${request.refundId} is ${record.status} for ${describeRequest(record)}, ` + `but this run asks ${describeRequest(asked, sameFields)}`,
        };
      }
      if (runId !== undefined && existing.run_id !== runId) {
        // A Reset, or a run that follows a terminated one under the same workflow id: it owns the refund now.
        await this.db.query('UPDATE refunds SET run_id = $2 WHERE refund_id = $1', [request.refundId, runId]);
        return { opened: { ...record, runId } };
      }
      return { opened: record };
    } catch (err) {
      if (!isUniqueViolation(err, ONE_PER_TRANSACTION) || transactionHid === null) throw err;
      const existing = await this.liveRefundOfTransaction(transactionHid);
      if (!existing) throw err;
      return { conflict: existing };
    }
  }

  /**
   * A refund the engine will not send (an order.cancelled transaction paid by ATM/CVS, or whose run
   * ended without a record), written straight to `requires_attention` with the reason, for a person.
   * Nothing is written, and undefined answered, when the refund id already has a row (its run's, or
   * an earlier order.cancelled's) or another refund holds the Oen transaction: that one is the record.
   */
  async recordForPerson(request: RefundRequested, workflowId: string, error: { code: string; message: string }): Promise<RefundRecord | undefined> {
    try {
      const row = await this.insert(request, workflowId, { status: 'requires_attention', error });
      return row && toRecord(row);
    } catch (err) {
      if (isUniqueViolation(err, ONE_PER_TRANSACTION)) return undefined;
      throw err;
    }
  }

  /**
   * The row of a refund new to the ledger, from its request: `received` (opened by its run) or
   * `requires_attention` (kept for a person); nothing, and undefined, when the refund id has a row.
   */
  private async insert(
    request: RefundRequested,
    workflowId: string,
    row: { status: 'received'; runId: string | undefined } | { status: 'requires_attention'; error: { code: string; message: string } },
  ): Promise<RefundRow | undefined> {
    const { rows } = await this.db.query<RefundRow>(
      `INSERT INTO refunds (refund_id, provider, order_id, transaction_hid, amount, status, workflow_id, run_id, request_hash, error_code, error_message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (refund_id) DO NOTHING
       RETURNING *`,
      [
        request.refundId,
        request.provider,
        request.orderId,
        request.provider === 'oen' ? request.transactionHid : null,
        request.amount,
        row.status,
        workflowId,
        'runId' in row ? (row.runId ?? null) : null,
        requestHash(request),
        'error' in row ? row.error.code : null,
        'error' in row ? row.error.message : null,
      ],
    );
    return rows[0];
  }

  /**
   * A refund run's move (src/domain/refund-status.ts), written by `writeMove`. Writing the status it already
   * has changes nothing; any other move is refused with the current status in the message.
   */
  async transition(refundId: string, to: RefundStatus, fields: TransitionFields = {}, claimant?: Claimant): Promise<RefundRecord> {
    const row = await writeMove(this.db, { kind: 'run', refundId, to, fields, claimant });
    if (row) return toRecord(row);
    const current = await this.mustGet(refundId);
    if (current.status === to) return current;
    throw new LedgerError(`Refund ${refundId} is ${current.status}; it cannot become ${to}`);
  }

  /** The provider attempt now under way (Temporal's attempt number); never goes backwards. */
  async recordAttempt(refundId: string, attempt: number): Promise<void> {
    await this.db.query('UPDATE refunds SET attempts = GREATEST(attempts, $2), updated_at = now() WHERE refund_id = $1', [refundId, attempt]);
  }

  /**
   * A transient provider failure: the retry window starts with the first one. Answers how long the
   * refund's provider calls have been failing, in ms.
   */
  async noteTransientFailure(refundId: string): Promise<number> {
    const { rows } = await this.db.query<{ ms: number }>(
      `UPDATE refunds SET retrying_since = COALESCE(retrying_since, now()) WHERE refund_id = $1
       RETURNING (EXTRACT(EPOCH FROM now() - retrying_since) * 1000)::float8 AS ms`,
      [refundId],
    );
    return Number(rows[0]?.ms ?? 0);
  }

  /** A refund call is about to be sent: answers how many were sent before it. */
  async noteSend(refundId: string): Promise<number> {
    const { rows } = await this.db.query<{ prior: number }>('UPDATE refunds SET sends = sends + 1 WHERE refund_id = $1 RETURNING sends - 1 AS prior', [
      refundId,
    ]);
    return Number(rows[0]?.prior ?? 0);
  }

  /**
   * Claims the send for `sender` (an attempt of a run, e.g. "attempt 2 of run 01a2…"), in one
   * transaction with what forbids it. Not claimed, and nothing marked, when an earlier sender sent and
   * never recorded an answer (`unansweredBy`, from any run: that refund may have happened), when the
   * provider's success is already recorded, or when the refund is no longer being submitted. The
   * check is here, under the row's lock, and not only before: an attempt that timed out and still runs
   * may reach this point after its retry sent the refund and recorded the answer.
   */
  async markSending(refundId: string, sender: string): Promise<SendClaim> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<RefundRow & { unanswered_send: string | null }>('SELECT * FROM refunds WHERE refund_id = $1 FOR UPDATE', [refundId]);
      const row = rows[0];
      if (!row) throw new LedgerError(`No refund ${refundId} in the ledger`);
      if (row.unanswered_send !== null) return { claimed: false, record: toRecord(row), unansweredBy: row.unanswered_send };
      if (row.provider_reference !== null || row.status !== 'submitting') return { claimed: false, record: toRecord(row) };
      await tx.query('UPDATE refunds SET unanswered_send = $2 WHERE refund_id = $1', [refundId, sender]);
      return { claimed: true };
    });
  }

  /**
   * The provider answered `sender`'s send. A success keeps its reference in the row at once, before the
   * activity's result reaches Temporal: an attempt that follows one whose result was lost finds the
   * refund done there, rather than a cleared mark and a reason to send again. Written only while the
   * send mark is `sender`'s: a late answer of an old attempt neither clears nor writes onto a row another
   * sender holds (false, nothing written).
   */
  async markAnswered(refundId: string, sender: string, providerReference?: string): Promise<boolean> {
    const { rows } = await this.db.query<{ refund_id: string }>(
      `UPDATE refunds SET unanswered_send = NULL, provider_reference = COALESCE($3, provider_reference)
       WHERE refund_id = $1 AND unanswered_send = $2 RETURNING refund_id`,
      [refundId, sender, providerReference ?? null],
    );
    return rows.length > 0;
  }

  /** The run that last claimed the refund (moved it to submitting), if the ledger knows it (not before migration 19). */
  async claimant(refundId: string): Promise<Claimant | undefined> {
    const { rows } = await this.db.query<{ workflow_id: string | null; run_id: string | null }>(
      'SELECT claimed_by_workflow AS workflow_id, claimed_by_run AS run_id FROM refunds WHERE refund_id = $1',
      [refundId],
    );
    const row = rows[0];
    return row?.workflow_id != null && row.run_id != null ? { workflowId: row.workflow_id, runId: row.run_id } : undefined;
  }

  async get(refundId: string): Promise<RefundRecord | undefined> {
    const { rows } = await this.db.query<RefundRow>('SELECT * FROM refunds WHERE refund_id = $1', [refundId]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Which of these refunds their runs no longer work: the ledger shows them waiting for a person
   * or ended. One not shown yet, `received` or `submitting`, is still being worked (src/api/admission.ts).
   */
  async noLongerWorked(refundIds: string[]): Promise<Set<string>> {
    const { rows } = await this.db.query<{ refund_id: string }>(
      "SELECT refund_id FROM refunds WHERE refund_id = ANY($1::text[]) AND status NOT IN ('received', 'submitting')",
      [refundIds],
    );
    return new Set(rows.map((row) => row.refund_id));
  }

  async liveRefundOfTransaction(transactionHid: string): Promise<RefundRecord | undefined> {
    const { rows } = await this.db.query<RefundRow>(
      `SELECT * FROM refunds WHERE provider = 'oen' AND transaction_hid = $1 AND NOT (status = ANY($2::text[]))`,
      [transactionHid, closedWithoutRefund],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Whether a new refund of an Oen transaction may follow `earlierRefundId`, whose run under the
   * transaction's workflow id has completed: only when the ledger shows that refund of this
   * transaction closed without a refund (failed, cancelled, resolved failed) and no other refund of
   * it live, succeeded or with a person. Never on the run's word: a run completes in requires_attention too.
   */
  async mayFollow(transactionHid: string, earlierRefundId: string): Promise<boolean> {
    const { rows } = await this.db.query<{ closed: boolean }>(
      `SELECT (status = ANY($3::text[])) AS closed FROM refunds WHERE refund_id = $1 AND provider = 'oen' AND transaction_hid = $2`,
      [earlierRefundId, transactionHid, closedWithoutRefund],
    );
    return rows[0]?.closed === true && (await this.liveRefundOfTransaction(transactionHid)) === undefined;
  }

  /**
   * Refunds newest first, optionally of one order, in one status and/or last updated before a time
   * (`updatedBefore`: waiting longer than that), a page at a time. `after` is the `next` cursor of
   * the previous page: stable while new refunds arrive.
   */
  async list(filter: { orderId?: string; status?: RefundStatus; updatedBefore?: Date; limit: number; after?: string }): Promise<{
    refunds: RefundRecord[];
    next?: string;
  }> {
    const cursor = filter.after === undefined ? undefined : decodeCursor(filter.after);
    const { rows } = await this.db.query<RefundRow & { created_at_exact: string }>(
      `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_exact FROM refunds
       WHERE ($1::text IS NULL OR order_id = $1) AND ($2::text IS NULL OR status = $2)
         AND ($6::timestamptz IS NULL OR updated_at < $6::timestamptz)
         AND ($3::timestamptz IS NULL OR (created_at, refund_id) < ($3::timestamptz, $4::text))
       ORDER BY created_at DESC, refund_id DESC LIMIT $5`,
      [
        filter.orderId ?? null,
        filter.status ?? null,
        cursor?.createdAt ?? null,
        cursor?.refundId ?? null,
        filter.limit + 1,
        filter.updatedBefore?.toISOString() ?? null,
      ],
    );
    const page = rows.slice(0, filter.limit).map(toRecord);
    const last = rows.length > filter.limit ? rows[filter.limit - 1] : undefined;
    return { refunds: page, ...(last && { next: encodeCursor(last) }) };
  }

  private async mustGet(refundId: string): Promise<RefundRecord> {
    return toRecord(await this.mustGetRow(refundId));
  }

  private async mustGetRow(refundId: string): Promise<RefundRow> {
    const { rows } = await this.db.query<RefundRow>('SELECT * FROM refunds WHERE refund_id = $1', [refundId]);
    if (!rows[0]) throw new LedgerError(`No refund ${refundId} in the ledger`);
    return rows[0];
  }
}

/** The database refused a write because another refund holds the Oen transaction (one refund per transaction). */
export function transactionHeld(err: unknown): boolean {
  return isUniqueViolation(err, ONE_PER_TRANSACTION);
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  return e.code === UNIQUE_VIOLATION && (e.constraint === constraint || (e.message ?? '').includes(constraint));
}

/** Cursors carry the last row's exact timestamp (microseconds), so a page never skips a row. */
function encodeCursor(row: { created_at_exact: string; refund_id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at_exact, row.refund_id])).toString('base64url');
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

function decodeCursor(cursor: string): { createdAt: string; refundId: string } {
  try {
    const [createdAt, refundId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof refundId === 'string' && !Number.isNaN(Date.parse(createdAt))) {
      return { createdAt, refundId };
    }
  } catch {
    // answered below
  }
  throw new InvalidCursorError('the cursor is not one this API gave out: start again without one');
}
