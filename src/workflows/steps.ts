import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';

/**
 * The steps workflows take outside the provider calls (those are in ./provider-calls.ts): ledger
 * writes, the worker's policy, and telling order management. `summary` names a step in the Web UI.
 */

/** The ledger is ours: retry until it answers. */
const ledgerRetry = { initialInterval: '1 second', maximumInterval: '30 seconds' } as const;

/**
 * Ledger writes run as local activities: by the worker inside the workflow task, one history event
 * each and no round trip through the task queue (a refund's happy path is 17 events,
 * docs/performance.md). Each write is idempotent (the same status again changes nothing; opening
 * again is a no-op for the run that owns the refund), so a local activity's at-least-once execution
 * is as safe as an activity's.
 */
export const ledgerStep = (summary: string) => proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: ledgerRetry, summary });

/** The worker's settings and the providers' failure types, read once by a run (recorded in its history). */
export const { refundPolicy: readPolicy } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: "Read the worker's refund policy (approval threshold, retry window)",
});

/** A run's input checked against its event's schema (a run started by hand may carry anything). */
export const { checkEventData } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'Check the input against its schema',
});

/**
 * Outcome events are retried until the receiver takes them, at most a minute apart: the run stays
 * open meanwhile, and the Web UI shows the pending delivery and its last error.
 */
export const deliveries = (summary: string) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
    summary,
  });

const quickDelivery = (summary: string) =>
  proxyLocalActivities<Activities>({
    startToCloseTimeout: '15 seconds',
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumAttempts: 3 },
    summary,
  });

/**
 * Tells order management how a refund ended (refund.succeeded, .failed, .requires_attention,
 * .cancelled). First tried as a local activity, a few times; if the receiver is still not taking it,
 * delivery goes on as an activity (retried until delivered, shown pending in the Web UI). Both use
 * the same delivery id.
 */
export async function tellOrderManagement(record: RefundRecord): Promise<void> {
  const summary = `Tell order management: refund.${record.status} for ${record.refundId}`;
  try {
    await quickDelivery(summary).deliverOutcome(record);
  } catch (err) {
    // A local activity's failure arrives as its own failure, not wrapped in an ActivityFailure.
    if (!(err instanceof ApplicationFailure || err instanceof ActivityFailure)) throw err;
    await deliveries(summary).deliverOutcome(record);
  }
}
