import type { RefundRecord } from './schemas/refund-record.js';
import type { OenRefundRequested } from './schemas/refund-request.js';
import type { RefundStatus } from './refund-status.js';
import { codes } from './failures.js';

/**
 * Reconciliation (docs/reconciliation.md): what the ledger says against what the provider shows.
 * Shared by the workflow, its activities, the ledger and the CLI; no I/O here.
 */

/** What one run looks at and what it may do; the worker's RECONCILE_* settings unless a run names its own. */
export interface ReconcilePolicy {
  /** An Oen refund still `submitting` after this long is looked at, unless its run is still open. */
  submittingAfterSeconds: number;
  /** Oen refunds that succeeded within this many days are confirmed at the provider. */
  succeededWithinDays: number;
  /** A refund the provider shows still charged and not refunded is submitted again (check, then act). */
  resubmit: boolean;
}

/** Each way a refund can come out of a run, counted in the report. */
export const reconcileOutcomes = [
  /** the ledger bears Oen out: succeeded, and Oen shows it refunded; or recently failed, and Oen shows it still charged */
  'confirmed',
  /** succeeded in the ledger, but Oen does not show it; or failed in the ledger, and Oen shows it refunded (late): now requires_attention */
  'mismatch',
  /** requires_attention or stale submitting, and Oen shows our refund: now succeeded */
  'resolved',
  /** Oen shows the transaction still charged with no refund: submitted again, now succeeded */
  'resubmitted',
  /** submitted again, and the provider did not give a success: requires_attention with the reason */
  'resubmit_unresolved',
  /** Oen shows no refund and the transaction still charged; resubmission is off, or impossible: left for a person */
  'left_for_person',
  /** Oen shows a state we cannot explain: requires_attention with the evidence */
  'unexplained',
  /** Oen could not be asked (it kept failing): nothing changed, tried again next run */
  'provider_unreachable',
  /** the refund changed while it was being looked at (its own run moved it): left as it is */
  'changed_meanwhile',
  /** submitting past the threshold, but its run is still open (waiting its turn, or retrying): left to it */
  'still_running',
  /** its run ended (terminated) without settling it: settled on the ledger's own evidence (nothing sent → cancelled; MWD → what its send left) */
  'run_ended',
  /** MWD cannot be asked: listed for a person */
  'mwd_unresolved',
] as const;
export type ReconcileOutcome = (typeof reconcileOutcomes)[number];

/** A refund whose status this run changed, with what the provider showed. */
export interface ReconcileChange {
  refundId: string;
  orderId: string;
  transactionHid?: string;
  outcome: ReconcileOutcome;
  from: RefundStatus;
  to: RefundStatus;
  evidence: string;
}

/** A refund looked at and left as it is, where a person may want to know (unexplained, left, unreachable). */
export interface ReconcileNote {
  refundId: string;
  outcome: ReconcileOutcome;
  status: RefundStatus;
  evidence: string;
}

export interface ReconcileReport {
  workflowId: string;
  runId: string;
  startedAt: string;
  finishedAt?: string;
  policy: ReconcilePolicy;
  /** Refunds looked at, in all. */
  examined: number;
  counts: Record<ReconcileOutcome, number>;
  changed: ReconcileChange[];
  /** Refunds left as they are with something to say; at most `noteLimit`, the rest only counted. */
  notes: ReconcileNote[];
  /** MWD refunds in requires_attention or stuck in submitting: MWD cannot be asked. */
  mwdUnresolved: Array<Pick<RefundRecord, 'refundId' | 'orderId' | 'amount' | 'status' | 'updatedAt'> & { reason?: string }>;
}

/** A refund to send again (reconciliation's, or a person's retry): the request to send, or why there is none. */
export type Resubmission = { request: OenRefundRequested } | { impossible: string };

const FIRST = '; first handed to a person as ';

/**
 * The error a refund already in requires_attention carries once reconciliation has found a state it
 * cannot explain: Oen's evidence first, and the reason it was first handed to a person kept after it
 * (once, however many runs attach evidence).
 */
export function evidenceError(evidence: string, prior: { code: string; message: string } | undefined): { code: string; message: string } {
  const code = codes.OenStateUnexplained;
  if (!prior) return { code, message: evidence };
  if (prior.code !== code) return { code, message: `${evidence}${FIRST}${prior.code}: ${prior.message}` };
  const first = prior.message.indexOf(FIRST);
  return { code, message: first < 0 ? evidence : `${evidence}${prior.message.slice(first)}` };
}

/** Notes and MWD refunds a report lists by name; beyond these, they are counted only. */
export const REPORT_LIST_LIMIT = 1_000;

export function emptyCounts(): Record<ReconcileOutcome, number> {
  return Object.fromEntries(reconcileOutcomes.map((o) => [o, 0])) as Record<ReconcileOutcome, number>;
}

/**
 * The schedule's id, which is also the workflow id its runs start under (Temporal adds the time):
 * `refundflow-reconcile` for the task queue `refunds`, `refundflow-reconcile-<queue>` for another, so
 * deployments that share a namespace on different task queues each keep their own schedule.
 */
export function reconcileScheduleId(taskQueue: string): string {
  return taskQueue === 'refunds' ? 'refundflow-reconcile' : `refundflow-reconcile-${taskQueue}`;
}
