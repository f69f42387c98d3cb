import { ApplicationFailure, proxyActivities, proxyLocalActivities, type ActivityFailure, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { finalErrorTypes } from '../providers/final-error-types.js';

/** The worker's settings for this run (a local activity: read once, recorded in history). */
export const { refundPolicy } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'Read the worker\'s refund policy (approval threshold, retry window)',
});

/**
 * Activities that call a provider: retried with exponential backoff while the failure is transient,
 * never when it is final, and for at most the retry window, after which the caller decides (a refund
 * goes to requires_attention).
 */
export function providerCalls(retryWindowMs: number, extra: Pick<ActivityOptions, 'heartbeatTimeout' | 'summary'> = {}) {
  return proxyActivities<Activities>({
    scheduleToCloseTimeout: retryWindowMs,
    // Above the HTTP timeout (10 s) times the calls one attempt makes (list, refund, list).
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: '500 milliseconds',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: finalErrorTypes,
    },
    ...extra,
  });
}

/** The provider's failure behind an activity failure, through a timeout's last failure if need be. */
export function applicationCause(err: ActivityFailure): ApplicationFailure | undefined {
  let cause: unknown = err.cause;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) return cause;
    cause = cause.cause;
  }
  return undefined;
}
