import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { REDELIVERY } from '../domain/outcome-delivery.js';
import type { RunPolicy } from '../domain/policy.js';

/**
 * How workflows call activities: one profile of options for each kind of activity, and the
 * activities of each kind as a type. A proxy is made over its kind only —
 * `proxyLocalActivities<LedgerActivities>({ ...profiles.ledger, summary })` — so a proxy of the
 * ledger cannot call a provider or ask Temporal: that does not compile (test/unit/activity-options.test.ts).
 * Every activity the worker registers is of exactly one kind (the same test).
 */

/** The refund ledger and the audit trail, read and written; run as local activities. */
export type LedgerActivities = Pick<
  Activities,
  | 'openRefund'
  | 'recordStatus'
  | 'recordForPerson'
  | 'recordUnconfirmedSubscriptionCancel'
  | 'noteCancelNotObeyed'
  | 'refundToResolve'
  | 'claimDecisionProof'
  | 'retryRequest'
  | 'recordResolution'
  | 'recordResolutionEnd'
  | 'reconcileCandidates'
  | 'runEndedCandidates'
  | 'mwdUnresolved'
  | 'applyReconciliation'
  | 'attachReconcileEvidence'
  | 'resubmissionRequest'
  | 'confirmRefunds'
  | 'saveReconcileReport'
>;

/** What a run reads once before it acts: the worker's policy, and whether the intake accepted its input. */
export type PolicyActivities = Pick<Activities, 'refundPolicy' | 'reconcilePolicy' | 'checkEventData'>;

/** Telling order management how a refund, or a subscription cancel, ended. */
export type DeliveryActivities = Pick<Activities, 'deliverOutcome' | 'deliverSubscriptionOutcome'>;

/** Calls that may move money or change what a provider holds: check, then act (src/activities/oen.ts, mwd.ts). */
export type ProviderActivities = Pick<Activities, 'submitOenRefund' | 'submitMwdRefund' | 'listOrderTransactions' | 'cancelOenSubscription'>;

/** Questions that change nothing: what Oen shows of a refund, and what Temporal shows of a refund's run. */
export type InspectionActivities = Pick<Activities, 'inspectOenRefunds' | 'mayFollowRefundRun' | 'refundRunOpen' | 'refundRunEnd'>;

/** The smoke test's one activity. */
export type PingActivities = Pick<Activities, 'ping'>;

/** The retry policy's backoff for provider calls: 0.5 s, doubling, at most 30 s between attempts. */
export const PROVIDER_BACKOFF = { initialMs: 500, coefficient: 2, maximumMs: 30_000 } as const;

/**
 * How many attempts the retry window holds: the first, and every retry whose backoff, added up, still
 * falls within the window (5 s: 4 attempts; 600 s: 25). Time spent waiting is not counted: waiting for
 * a rate-limit turn, or in the task queue behind a burst, is not the provider failing.
 */
export function retryAttemptsWithin(windowMs: number): number {
  let attempts = 1;
  let waited = 0;
  for (let backoff: number = PROVIDER_BACKOFF.initialMs; ; backoff = Math.min(backoff * PROVIDER_BACKOFF.coefficient, PROVIDER_BACKOFF.maximumMs)) {
    if (waited + backoff > windowMs) return attempts;
    waited += backoff;
    attempts += 1;
  }
}

/**
 * Provider calls: retried with exponential backoff while the failure is transient, never when it is
 * final, within the retry window, after which the caller says what follows (a refund goes to
 * requires_attention). No schedule-to-close timeout: a refund queued behind a burst, or waiting for
 * its turn under the provider's rate limit, waits as long as it takes (heartbeating), and only the
 * provider's own failures use up the window.
 *
 * `window: 'ledger'` (the refund submissions): the activity keeps the window in the ledger, from the
 * refund's first transient provider failure (withinRetryWindow, src/activities/failures.ts), and
 * Temporal retries without a limit; an attempt lost to a worker that died costs nothing. Otherwise
 * the window is the attempts its backoff holds (`retryAttemptsWithin`).
 */
function providerOptions(policy: Pick<RunPolicy, 'retryWindowMs' | 'failureTypes'>, window: 'attempts' | 'ledger'): ActivityOptions {
  return {
    // An attempt may wait long for its rate-limit turns; the heartbeat (every request, every second
    // of waiting) is what tells a dead worker from a waiting one.
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: PROVIDER_BACKOFF.initialMs,
      backoffCoefficient: PROVIDER_BACKOFF.coefficient,
      maximumInterval: PROVIDER_BACKOFF.maximumMs,
      ...(window === 'attempts' && { maximumAttempts: retryAttemptsWithin(policy.retryWindowMs) }),
      nonRetryableErrorTypes: [...policy.failureTypes.final],
    },
  };
}

/**
 * What every inspection of Oen shares: it heartbeats as it goes (each order listed), and an attempt
 * silent for a minute is lost; Oen failing or not answering is an answer (`unreachable`), so only an
 * activity that fails itself is retried, a few times.
 */
const inspection = { heartbeatTimeout: '1 minute', retry: { maximumAttempts: 3 } } as const;

export const profiles = {
  /**
   * The ledger is ours: retry until it answers. Run as local activities: by the worker inside the
   * workflow task, one history event each and no round trip through the task queue (a refund's happy
   * path is 17 events, docs/performance.md). Each write is idempotent (the same status again changes
   * nothing; opening again is a no-op for the run that owns the refund), so a local activity's
   * at-least-once execution is as safe as an activity's.
   */
  ledger: { startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumInterval: '30 seconds' } } satisfies LocalActivityOptions,

  /** Read once by a run, as a local activity (recorded in its history). */
  policy: { startToCloseTimeout: '10 seconds' } satisfies LocalActivityOptions,

  delivery: {
    /** First, a few quick tries as a local activity, while the receiver is likely up. */
    quick: {
      startToCloseTimeout: '15 seconds',
      retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumAttempts: 3 },
    } satisfies LocalActivityOptions,
    /**
     * Then retried until the receiver takes it, at most a minute apart: the run stays open meanwhile,
     * and the Web UI shows the pending delivery and its last error.
     */
    untilDelivered: {
      startToCloseTimeout: '30 seconds',
      retry: { initialInterval: REDELIVERY.firstMs, backoffCoefficient: REDELIVERY.coefficient, maximumInterval: REDELIVERY.maximumMs },
    } satisfies ActivityOptions,
  },

  provider: providerOptions,

  inspection: {
    /** One refund's order listed at Oen while a person waits for the answer (a resolution). */
    oenRefund: { ...inspection, startToCloseTimeout: '5 minutes', retry: { ...inspection.retry, initialInterval: '2 seconds' } } satisfies ActivityOptions,
    /** A page of refunds, one Oen list per order, heartbeating per order (reconciliation). */
    oenPage: { ...inspection, startToCloseTimeout: '30 minutes', retry: { ...inspection.retry, initialInterval: '5 seconds' } } satisfies ActivityOptions,
    /** Temporal and the ledger asked about a refund's run: a few tries, then the caller goes on without the answer. */
    refundRun: { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5 } } satisfies ActivityOptions,
  },

  ping: { startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 3 } } satisfies ActivityOptions,
};
