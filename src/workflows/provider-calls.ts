import { ApplicationFailure, proxyActivities, proxyLocalActivities, type ActivityFailure, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { finalErrorTypes } from '../providers/final-error-types.js';

/** The worker's settings for this run (a local activity: read once, recorded in history). */
export const { refundPolicy } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'Read the worker\'s refund policy (approval threshold, retry window)',
});

/** The retry policy's backoff: 0.5 s, doubling, at most 30 s between attempts. */
const BACKOFF = { initialMs: 500, coefficient: 2, maximumMs: 30_000 } as const;

/**
 * How many attempts the retry window holds: the first, and every retry whose backoff, added up, still
 * falls within the window (5 s: 4 attempts; 600 s: 25). Time spent waiting is not counted: waiting for
 * a rate-limit turn, or in the task queue behind a burst, is not the provider failing.
 */
export function retryAttemptsWithin(windowMs: number): number {
  let attempts = 1;
  let waited = 0;
  for (let backoff: number = BACKOFF.initialMs; ; backoff = Math.min(backoff * BACKOFF.coefficient, BACKOFF.maximumMs)) {
    if (waited + backoff > windowMs) return attempts;
    waited += backoff;
    attempts += 1;
  }
}

/**
 * Activities that call a provider: retried with exponential backoff while the failure is transient,
 * never when it is final, for the attempts the retry window holds, after which the caller decides (a
 * refund goes to requires_attention). No schedule-to-close timeout: a refund queued behind a burst,
 * or waiting for its turn under the provider's rate limit, waits as long as it takes (heartbeating),
 * and only the provider's own failures use up the window.
 */
export function providerCalls(retryWindowMs: number, extra: Pick<ActivityOptions, 'heartbeatTimeout' | 'summary'> = {}) {
  return proxyActivities<Activities>({
    // An attempt may wait long for its rate-limit turns; the heartbeat (every request, every second
    // of waiting) is what tells a dead worker from a waiting one.
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: BACKOFF.initialMs,
      backoffCoefficient: BACKOFF.coefficient,
      maximumInterval: BACKOFF.maximumMs,
      maximumAttempts: retryAttemptsWithin(retryWindowMs),
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
