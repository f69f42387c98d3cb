import type { Database } from './database.js';

/**
 * The outcome events in the ledger (migration 21): each written by the database's own trigger in
 * the transaction that gave a refund its outcome status (succeeded, failed, requires_attention,
 * cancelled) or kept a subscription cancel for a person. Read here in stream order, and where each
 * destination's delivery stands (src/outcomes/relay.ts delivers them).
 */

/** One outcome event as the ledger keeps it: `data` is the row it was written from, as it was then. */
export interface StoredOutcome {
  /** Its place in the stream; undefined until the sequencer has given it one. */
  position: number | undefined;
  eventId: string;
  /** `refund.succeeded`, `refund.failed`, `refund.requires_attention`, `refund.cancelled`, `subscription.requires_attention`. */
  type: string;
  /** The refund id, or the subscription id. */
  subject: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

interface OutcomeRow {
  position: string | null;
  event_id: string;
  type: string;
  subject: string;
  occurred_at: Date;
  data: Record<string, unknown> | string;
}

/** Where one destination's delivery stands. */
export interface DestinationState {
  destination: string;
  deliveredThrough: number;
  failures: number;
  lastError: string | undefined;
  lastFailedAt: Date | undefined;
}

const toOutcome = (row: OutcomeRow): StoredOutcome => ({
  position: row.position === null ? undefined : Number(row.position),
  eventId: row.event_id,
  type: row.type,
  subject: row.subject,
  occurredAt: row.occurred_at,
  // PGlite gives jsonb parsed; so does pg. A string would be a driver set up otherwise.
  data: (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as Record<string, unknown>,
});

/** What every read of an event selects (OutcomeRow). */
const OUTCOME_COLUMNS = 'position, event_id, type, subject, occurred_at, data';

/** How many events one call of the sequencer gives positions to, at most. */
export const SEQUENCE_BATCH = 1000;

export class OutcomeOutbox {
  constructor(private readonly db: Database) {}

  /**
   * Gives the committed events that have none their positions, oldest first, one sequencer at a
   * time (outcome_events_sequence, migration 21); answers how many it gave.
   */
  async sequence(batch = SEQUENCE_BATCH): Promise<number> {
    const { rows } = await this.db.query<{ given: number }>('SELECT outcome_events_sequence($1) AS given', [batch]);
    return Number(rows[0]?.given ?? 0);
  }

  /** The sequenced events after `position`, in order, at most `limit`. */
  async after(position: number, limit: number): Promise<StoredOutcome[]> {
    const { rows } = await this.db.query<OutcomeRow>(
      `SELECT ${OUTCOME_COLUMNS} FROM outcome_events
       WHERE position > $1 ORDER BY position LIMIT $2`,
      [position, limit],
    );
    return rows.map(toOutcome);
  }

  async byId(eventId: string): Promise<StoredOutcome | undefined> {
    const { rows } = await this.db.query<OutcomeRow>(`SELECT ${OUTCOME_COLUMNS} FROM outcome_events WHERE event_id = $1`, [eventId]);
    return rows[0] && toOutcome(rows[0]);
  }

  /** The events of one refund or subscription, in the order they were written. */
  async ofSubject(subject: string): Promise<StoredOutcome[]> {
    const { rows } = await this.db.query<OutcomeRow>(`SELECT ${OUTCOME_COLUMNS} FROM outcome_events WHERE subject = $1 ORDER BY id`, [subject]);
    return rows.map(toOutcome);
  }

  /**
   * The destinations configured now, each with a cursor: one new to the ledger starts after the
   * last event sequenced (it is sent what happens from now on; GET /v1/outcomes has the rest), one
   * retired earlier resumes where it stopped. The others are retired: their cursors are kept, and
   * they no longer count as waiting.
   */
  async register(destinations: readonly string[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO outcome_destinations (destination, delivered_through)
         SELECT d, (SELECT COALESCE(max(position), 0) FROM outcome_events) FROM unnest($1::text[]) AS d
         ON CONFLICT (destination) DO UPDATE SET retired_at = NULL`,
        [destinations],
      );
      await tx.query('UPDATE outcome_destinations SET retired_at = now() WHERE retired_at IS NULL AND NOT (destination = ANY($1::text[]))', [destinations]);
    });
  }

  /**
   * Takes (or renews) `holder`'s lease on a destination for `ms`; answers its cursor, or undefined
   * while another relay's lease runs.
   */
  async lease(destination: string, holder: string, ms: number): Promise<number | undefined> {
    const { rows } = await this.db.query<{ delivered_through: string }>(
      `UPDATE outcome_destinations SET lease_holder = $2, lease_until = now() + make_interval(secs => $3::float8 / 1000)
       WHERE destination = $1 AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until < now())
       RETURNING delivered_through`,
      [destination, holder, ms],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].delivered_through);
  }

  /** Lets go of a lease (a relay that stops), so another relay need not wait for it to run out. */
  async release(destination: string, holder: string): Promise<void> {
    await this.db.query('UPDATE outcome_destinations SET lease_holder = NULL, lease_until = NULL WHERE destination = $1 AND lease_holder = $2', [
      destination,
      holder,
    ]);
  }

  /**
   * Moves the cursor past `position` and renews the lease for `ms`, while `holder` holds it; false
   * when it no longer does.
   */
  async delivered(destination: string, holder: string, position: number, ms: number): Promise<boolean> {
    const { rows } = await this.db.query<{ destination: string }>(
      `UPDATE outcome_destinations SET delivered_through = GREATEST(delivered_through, $3), failures = 0, last_error = NULL,
         lease_until = now() + make_interval(secs => $4::float8 / 1000)
       WHERE destination = $1 AND lease_holder = $2 RETURNING destination`,
      [destination, holder, position, ms],
    );
    return rows.length > 0;
  }

  /** Notes a failed attempt at the event after the cursor. */
  async failed(destination: string, holder: string, error: string): Promise<void> {
    await this.db.query(
      `UPDATE outcome_destinations SET failures = failures + 1, last_error = $3, last_failed_at = now()
       WHERE destination = $1 AND lease_holder = $2`,
      [destination, holder, error.slice(0, 1000)],
    );
  }

  /** Every destination configured now, with where it stands. */
  async destinations(): Promise<DestinationState[]> {
    const { rows } = await this.db.query<{
      destination: string;
      delivered_through: string;
      failures: number;
      last_error: string | null;
      last_failed_at: Date | null;
    }>('SELECT destination, delivered_through, failures, last_error, last_failed_at FROM outcome_destinations WHERE retired_at IS NULL ORDER BY destination');
    return rows.map((r) => ({
      destination: r.destination,
      deliveredThrough: Number(r.delivered_through),
      failures: r.failures,
      lastError: r.last_error ?? undefined,
      lastFailedAt: r.last_failed_at ?? undefined,
    }));
  }
}
