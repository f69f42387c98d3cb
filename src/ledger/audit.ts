import type { Actor, Role } from '../domain/actor.js';
import type { Queryable } from './database.js';

/**
 * The operator audit trail (migration 13): the operator actions — approve, reject, cancel, resolve,
 * retry, key made, confirmed or revoked — with who asked (as verified, or what little is known of an
 * unverified caller), the refund, its status before and after, the reason and the API request id.
 * An action is written twice (migration 20): `attempted` before it is carried out — and it is not
 * carried out when that row cannot be written (`attempt` throws AuditUnavailable) — then how it ended:
 * `done`, `refused`, or `pending` (a resolution answered 202: running, or waiting for a second person).
 * A request refused before anything was tried (no credential, a bad body) is one `refused` row.
 * Append-only: this module only inserts and reads; the table's triggers refuse UPDATE, DELETE and
 * TRUNCATE, and the runtime role may only INSERT and SELECT it.
 */
export type AuditOutcome = 'attempted' | 'done' | 'refused' | 'pending';

/**
 * The audit trail could not be written, so the action it was to record was not carried out. The
 * message is for the caller; why the ledger refused is its `cause`, for the log, not the answer.
 */
export class AuditUnavailable extends Error {
  constructor(action: string, cause: unknown) {
    super(`the audit trail cannot be written: ${action} was not carried out; try again`, { cause });
    this.name = 'AuditUnavailable';
  }
}

export interface AuditEntry {
  actor: Pick<Actor, 'id' | 'name'> & { role?: Role | undefined };
  action: string;
  refundId?: string | undefined;
  outcome: AuditOutcome;
  statusBefore?: string | undefined;
  statusAfter?: string | undefined;
  /** The operator's reason for a decision, or why it was refused. */
  reason?: string | undefined;
  /** Anything else worth keeping: the evidence of a resolution, the HTTP status of a refusal. */
  detail?: Record<string, unknown> | undefined;
  requestId: string;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}

export interface AuditFilter {
  refundId?: string | undefined;
  /**
   * An actor's id (key:alice, oidc:…, temporal), or a key's name (alice for key:alice: an admin chose
   * it). Never a display name: an OIDC token names its holder as it likes.
   */
  actor?: string | undefined;
  since?: Date | undefined;
  /** The last id of the page before. */
  after?: string | undefined;
  limit: number;
}

interface AuditRow {
  id: string;
  at: Date;
  actor_id: string;
  actor_name: string;
  role: Role | null;
  action: string;
  refund_id: string | null;
  outcome: AuditOutcome;
  status_before: string | null;
  status_after: string | null;
  reason: string | null;
  detail: Record<string, unknown> | null;
  request_id: string;
}

export class AuditTrail {
  constructor(private readonly db: Queryable) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    const { rows } = await this.db.query<AuditRow>(
      `INSERT INTO operator_audit (actor_id, actor_name, role, action, refund_id, outcome, status_before, status_after, reason, detail, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      auditValues(entry),
    );
    return toAuditRecord(rows[0]!);
  }

  /**
   * The row that must stand before `entry`'s action is carried out: its outcome `attempted`. Throws
   * AuditUnavailable when it cannot be written; the caller then does nothing.
   */
  async attempt(entry: Omit<AuditEntry, 'outcome'>): Promise<void> {
    try {
      await this.append({ ...entry, outcome: 'attempted' });
    } catch (err) {
      throw new AuditUnavailable(entry.action, err);
    }
  }

  /**
   * The entry, unless the trail already has one of the same action, outcome, refund and request id: for what an
   * activity records, which may run more than once for one event (a Temporal Cancel, a termination).
   */
  async appendOnce(entry: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO operator_audit (actor_id, actor_name, role, action, refund_id, outcome, status_before, status_after, reason, detail, request_id)
       SELECT $1, $2, $3, $4::text, $5::text, $6::text, $7, $8, $9, $10::jsonb, $11::text
       WHERE NOT EXISTS (SELECT 1 FROM operator_audit WHERE action = $4::text AND outcome = $6::text AND refund_id IS NOT DISTINCT FROM $5::text AND request_id = $11::text)`,
      auditValues(entry),
    );
  }

  /** Oldest first; `next` is the cursor of the following page, when there is one. */
  async list(filter: AuditFilter): Promise<{ entries: AuditRecord[]; next?: string }> {
    const { rows } = await this.db.query<AuditRow>(
      `SELECT * FROM operator_audit
       WHERE ($1::text IS NULL OR refund_id = $1)
         AND ($2::text IS NULL OR actor_id = $2 OR actor_id = 'key:' || $2)
         AND ($3::timestamptz IS NULL OR at >= $3)
         AND ($4::bigint IS NULL OR id > $4)
       ORDER BY id LIMIT $5`,
      [filter.refundId ?? null, filter.actor ?? null, filter.since?.toISOString() ?? null, filter.after ?? null, filter.limit + 1],
    );
    const entries = rows.slice(0, filter.limit).map(toAuditRecord);
    return rows.length > filter.limit ? { entries, next: entries[entries.length - 1]!.id } : { entries };
  }
}

/** What an action's row says beside who, what and which request (AuditedAction's `base`). */
export type AuditFields = Pick<AuditEntry, 'statusBefore' | 'statusAfter' | 'reason' | 'detail'>;

/**
 * One operator action in the trail, the API's and the CLI's alike: `attempt` before it is carried out
 * (throws AuditUnavailable when the row cannot be written, and the caller does nothing), then how it
 * ended: `done`, `pending` (carried out, not ended: a resolution answered 202) or `refused`. An
 * outcome that cannot be written once the action was attempted goes to `lost` (to be logged), not
 * thrown: the action happened, and its attempted row stands. A request refused before anything was
 * tried is one `refused` row, which throws when it cannot be written.
 */
export class AuditedAction {
  private attempted = false;

  constructor(
    private readonly trail: AuditTrail,
    private readonly base: Pick<AuditEntry, 'actor' | 'action' | 'refundId' | 'requestId'>,
    private readonly lost: (err: unknown, outcome: AuditOutcome) => void,
  ) {}

  async attempt(fields: Omit<AuditFields, 'statusAfter'> = {}): Promise<void> {
    await this.trail.attempt({ ...this.base, ...fields });
    this.attempted = true;
  }

  done(fields: AuditFields = {}): Promise<void> {
    return this.outcome('done', fields);
  }

  pending(fields: AuditFields = {}): Promise<void> {
    return this.outcome('pending', fields);
  }

  refused(fields: AuditFields = {}): Promise<void> {
    return this.outcome('refused', fields);
  }

  private async outcome(outcome: Exclude<AuditOutcome, 'attempted'>, fields: AuditFields): Promise<void> {
    try {
      await this.trail.append({ ...this.base, ...fields, outcome });
    } catch (err) {
      if (!this.attempted) throw err;
      this.lost(err, outcome);
    }
  }
}

function auditValues(entry: AuditEntry): unknown[] {
  return [
    entry.actor.id,
    entry.actor.name,
    entry.actor.role ?? null,
    entry.action,
    entry.refundId ?? null,
    entry.outcome,
    entry.statusBefore ?? null,
    entry.statusAfter ?? null,
    entry.reason ?? null,
    entry.detail === undefined ? null : JSON.stringify(entry.detail),
    entry.requestId,
  ];
}

function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    id: String(row.id),
    at: row.at.toISOString(),
    actor: { id: row.actor_id, name: row.actor_name, ...(row.role !== null && { role: row.role }) },
    action: row.action,
    ...(row.refund_id !== null && { refundId: row.refund_id }),
    outcome: row.outcome,
    ...(row.status_before !== null && { statusBefore: row.status_before }),
    ...(row.status_after !== null && { statusAfter: row.status_after }),
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.detail !== null && { detail: row.detail }),
    requestId: row.request_id,
  };
}
