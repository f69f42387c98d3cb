import type { IntakeName } from '../domain/intakes.js';
import { storable, type InboundEvent } from '../domain/schemas/events.js';
import type { Database } from './database.js';
import { acceptedRequestHash } from './hashing.js';

/** What the API answered (or will answer again) for an event: replayed for a duplicate delivery. */
export interface StoredAnswer {
  statusCode: number;
  body: unknown;
}

export interface InboxEntry {
  eventId: string;
  /** The intake that brought it first. */
  intake: IntakeName;
  type: string;
  source: string;
  bodyHash: string;
  /** The validated event, card numbers masked. */
  event: unknown;
  answer: StoredAnswer;
  status: 'pending' | 'started' | 'refused';
  attempts: number;
  lastError?: string;
}

export type AcceptResult =
  | { kind: 'accepted' }
  /** The same event id with the same body: answer as before. */
  | { kind: 'duplicate'; answer: StoredAnswer }
  /** The same event id with another body. */
  | { kind: 'eventIdReused' }
  /** The same refund id, first accepted in `eventId`, with other contents. */
  | { kind: 'refundIdConflict'; eventId: string };

export interface RejectedRequest {
  /** The intake it came by; HTTP when not given. */
  intake?: IntakeName;
  statusCode: number;
  reason: string;
  problems?: unknown;
  eventId?: string;
  eventType?: string;
  bodyHash: string;
  bodySize: number;
  /** Already capped and with card numbers masked. */
  body: string;
}

interface InboxRow {
  event_id: string;
  intake: IntakeName;
  type: string;
  source: string;
  body_hash: string;
  event: unknown;
  answer: string;
  status: InboxEntry['status'];
  attempts: number;
  last_error: string | null;
}

class RefundIdConflict extends Error {
  constructor(readonly eventId: string) {
    super(`refund id first accepted in event ${eventId}`);
  }
}

function toEntry(row: InboxRow): InboxEntry {
  return {
    eventId: row.event_id,
    intake: row.intake,
    type: row.type,
    source: row.source,
    bodyHash: row.body_hash,
    event: row.event,
    answer: JSON.parse(row.answer) as StoredAnswer,
    status: row.status,
    attempts: row.attempts,
    ...(row.last_error !== null && { lastError: row.last_error }),
  };
}

/**
 * The API's durable intake: every accepted event is written here before the answer, and its
 * workflow is started from here (at once, and again by the dispatcher until it is), so an event
 * accepted just before a crash is not lost. Rejected requests are kept too.
 */
export class EventInbox {
  constructor(private readonly db: Database) {}

  /**
   * Keeps an accepted event (validated, card numbers masked) with the answer given. A refund.requested
   * also claims its refund id for this request (refund_requests): the record the gate reads before any
   * run of it reaches a provider (./acceptance.ts), and what catches the same id with other contents.
   */
  async accept(entry: { event: InboundEvent; intake?: IntakeName; bodyHash: string; answer: StoredAnswer }): Promise<AcceptResult> {
    const { event } = entry;
    const refund = event.type === 'refund.requested' ? { refundId: event.data.refundId, requestHash: acceptedRequestHash(event.data) } : undefined;
    try {
      return await this.db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO inbox_events (event_id, type, source, body_hash, event, answer, status, intake)
           VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
          [event.id, event.type, event.source, entry.bodyHash, JSON.stringify(event), JSON.stringify(entry.answer), entry.intake ?? 'http'],
        );
        if (inserted.rows.length === 0) {
          const { rows } = await tx.query<InboxRow>('SELECT * FROM inbox_events WHERE event_id = $1', [event.id]);
          const existing = rows[0];
          if (existing?.body_hash === entry.bodyHash) return { kind: 'duplicate', answer: toEntry(existing).answer };
          return { kind: 'eventIdReused' };
        }
        if (refund) {
          const claimed = await tx.query(
            `INSERT INTO refund_requests (refund_id, event_id, request_hash) VALUES ($1, $2, $3)
             ON CONFLICT (refund_id) DO NOTHING RETURNING refund_id`,
            [refund.refundId, event.id, refund.requestHash],
          );
          if (claimed.rows.length === 0) {
            const { rows } = await tx.query<{ event_id: string; request_hash: string }>(
              'SELECT event_id, request_hash FROM refund_requests WHERE refund_id = $1',
              [refund.refundId],
            );
            const first = rows[0];
            if (first && first.request_hash !== refund.requestHash) throw new RefundIdConflict(first.event_id);
          }
        }
        return { kind: 'accepted' };
      });
    } catch (err) {
      if (err instanceof RefundIdConflict) return { kind: 'refundIdConflict', eventId: err.eventId };
      throw err;
    }
  }

  async get(eventId: string): Promise<InboxEntry | undefined> {
    const { rows } = await this.db.query<InboxRow>('SELECT * FROM inbox_events WHERE event_id = $1', [eventId]);
    return rows[0] && toEntry(rows[0]);
  }

  /**
   * Claims up to `limit` events whose workflow is still to be started, for `leaseMs`: another API
   * process skips them meanwhile, and takes them over if this one dies before marking them.
   */
  async claimPending(limit: number, leaseMs: number): Promise<InboxEntry[]> {
    const { rows } = await this.db.query<InboxRow>(
      `UPDATE inbox_events SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
       WHERE event_id IN (
         SELECT event_id FROM inbox_events WHERE status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit, leaseMs],
    );
    return rows.map(toEntry);
  }

  async markStarted(eventId: string): Promise<void> {
    await this.db.query(
      `UPDATE inbox_events SET status = 'started', started_at = now(), attempts = attempts + 1, last_error = NULL
       WHERE event_id = $1 AND status = 'pending'`,
      [eventId],
    );
  }

  /** The start was refused for good (e.g. another refund owns the transaction); `answer` replaces the stored one. */
  async markRefused(eventId: string, reason: string, answer: StoredAnswer): Promise<void> {
    await this.db.query(
      `UPDATE inbox_events SET status = 'refused', attempts = attempts + 1, last_error = $2, answer = $3
       WHERE event_id = $1 AND status = 'pending'`,
      [eventId, reason, JSON.stringify(answer)],
    );
  }

  /** The start failed (Temporal away): tried again after `retryInMs`. */
  async markFailed(eventId: string, error: string, retryInMs: number): Promise<void> {
    await this.db.query(
      `UPDATE inbox_events SET attempts = attempts + 1, last_error = $2,
         next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE event_id = $1 AND status = 'pending'`,
      [eventId, error, retryInMs],
    );
  }

  /**
   * The request (the `data` of its event) first accepted for a refund id, unless its start was refused
   * (another refund owns the Oen transaction): a refused request is no refund, and no read says `received`.
   */
  async refundRequest(refundId: string): Promise<{ eventId: string; data: unknown; receivedAt: string } | undefined> {
    const { rows } = await this.db.query<{ event_id: string; data: unknown; received_at: Date }>(
      `SELECT r.event_id, e.event -> 'data' AS data, r.received_at
       FROM refund_requests r JOIN inbox_events e ON e.event_id = r.event_id WHERE r.refund_id = $1 AND e.status <> 'refused'`,
      [refundId],
    );
    const row = rows[0];
    return row && { eventId: row.event_id, data: row.data, receivedAt: row.received_at.toISOString() };
  }

  /**
   * Keeps a refusal. What it quotes from the request (reason, problems, ids, the body's start) may
   * hold U+0000 or a lone surrogate, which PostgreSQL text and jsonb refuse: each is kept as U+FFFD.
   */
  async reject(request: RejectedRequest): Promise<void> {
    await this.db.query(
      `INSERT INTO rejected_requests (status_code, reason, problems, event_id, event_type, body_hash, body_size, body, intake)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        request.statusCode,
        storable(request.reason),
        request.problems === undefined
          ? null
          : JSON.stringify(request.problems, (_key, value: unknown) => (typeof value === 'string' ? storable(value) : value)),
        request.eventId === undefined ? null : storable(request.eventId),
        request.eventType === undefined ? null : storable(request.eventType),
        request.bodyHash,
        request.bodySize,
        storable(request.body),
        request.intake ?? 'http',
      ],
    );
  }

  async rejected(limit = 100): Promise<Array<RejectedRequest & { receivedAt: string }>> {
    const { rows } = await this.db.query<{
      intake: IntakeName;
      status_code: number;
      reason: string;
      problems: unknown;
      event_id: string | null;
      event_type: string | null;
      body_hash: string;
      body_size: number;
      body: string;
      received_at: Date;
    }>('SELECT * FROM rejected_requests ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((row) => ({
      intake: row.intake,
      statusCode: row.status_code,
      reason: row.reason,
      ...(row.problems !== null && { problems: row.problems }),
      ...(row.event_id !== null && { eventId: row.event_id }),
      ...(row.event_type !== null && { eventType: row.event_type }),
      bodyHash: row.body_hash,
      bodySize: row.body_size,
      body: row.body,
      receivedAt: row.received_at.toISOString(),
    }));
  }
}
