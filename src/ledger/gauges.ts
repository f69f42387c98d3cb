import { emptyCounts, reconcileOutcomes, type ReconcileOutcome } from '../domain/reconcile.js';
import { finalStatuses, refundStatuses, type RefundStatus } from '../domain/refund-status.js';
import { throughTemporal } from '../domain/actor.js';
import { notRequestedAction } from './acceptance.js';
import type { Queryable } from './database.js';

/** The statuses a refund waits in: all but the final ones (requires_attention waits for a person). */
export const openStatuses = refundStatuses.filter((status) => !finalStatuses.includes(status));

/** How many wait, and how long the one waiting longest has (0 when none does). */
export interface Backlog {
  count: number;
  oldestAgeSeconds: number;
}

/** What the ledger holds right now that an operator watches: read at each scrape of the API's /metrics. */
export interface LedgerGauges {
  /** Refunds in each open status, every one listed; the age is the time since the refund entered that status. */
  refunds: Array<{ status: RefundStatus } & Backlog>;
  /** Accepted events whose workflow is not started yet; the age counts from acceptance. */
  inbox: Backlog;
  /**
   * Outcome events in the outbox some configured destination has not taken yet (src/ledger/outbox.ts);
   * the age counts from when the event was written. None while no destination is configured.
   */
  outcomes: Backlog;
  /** Runs the request gate stopped in the last 24 hours (src/ledger/acceptance.ts): started through Temporal, not by the intake. */
  notRequestedRuns: number;
  /** The latest reconciliation report, if any run finished. */
  reconciliation?: { finishedAt: Date; counts: Record<ReconcileOutcome, number> };
}

interface BacklogRow {
  count: number;
  oldest: number | null;
}

const backlog = (row: BacklogRow | undefined): Backlog => ({ count: row?.count ?? 0, oldestAgeSeconds: Math.max(0, row?.oldest ?? 0) });

/** Ages are computed by the database's clock, the one that wrote the timestamps. */
const oldestSince = (column: string) => `count(*)::int AS count, EXTRACT(EPOCH FROM now() - min(${column}))::float8 AS oldest`;

export async function readLedgerGauges(db: Queryable): Promise<LedgerGauges> {
  const [refunds, inbox, outcomes, report, notRequested] = await Promise.all([
    db.query<BacklogRow & { status: RefundStatus }>(
      // Rows from before migration 15 have no status_since: their last update stands in.
      `SELECT status, ${oldestSince('COALESCE(status_since, updated_at)')} FROM refunds WHERE status = ANY($1::text[]) GROUP BY status`,
      [openStatuses],
    ),
    db.query<BacklogRow>(`SELECT ${oldestSince('received_at')} FROM inbox_events WHERE status = 'pending'`),
    db.query<BacklogRow>(
      `WITH behind AS (SELECT min(delivered_through) AS through FROM outcome_destinations WHERE retired_at IS NULL)
       SELECT ${oldestSince('recorded_at')} FROM outcome_events, behind
       WHERE behind.through IS NOT NULL AND (position IS NULL OR position > behind.through)`,
    ),
    db.query<{ finished_at: Date; counts: unknown }>(
      `SELECT finished_at, report -> 'counts' AS counts FROM reconciliation_reports ORDER BY finished_at DESC LIMIT 1`,
    ),
    db.query<{ count: number }>(`SELECT count(*)::int AS count FROM operator_audit WHERE actor_id = $1 AND action = $2 AND at > now() - interval '24 hours'`, [
      throughTemporal.id,
      notRequestedAction,
    ]),
  ]);
  const byStatus = new Map(refunds.rows.map((row) => [row.status, row]));
  const last = report.rows[0];
  return {
    refunds: openStatuses.map((status) => ({ status, ...backlog(byStatus.get(status)) })),
    inbox: backlog(inbox.rows[0]),
    outcomes: backlog(outcomes.rows[0]),
    notRequestedRuns: notRequested.rows[0]?.count ?? 0,
    ...(last && { reconciliation: { finishedAt: last.finished_at, counts: reportCounts(last.counts) } }),
  };
}

/** A report's counts, each outcome present (a report from before an outcome existed lacks it). */
function reportCounts(stored: unknown): Record<ReconcileOutcome, number> {
  const kept = (typeof stored === 'string' ? JSON.parse(stored) : stored) as Partial<Record<ReconcileOutcome, unknown>> | null;
  const counts = emptyCounts();
  for (const outcome of reconcileOutcomes) counts[outcome] = Number(kept?.[outcome] ?? 0);
  return counts;
}
