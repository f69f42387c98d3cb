import { ApplicationFailure, proxyActivities, proxyLocalActivities, type ActivityFailure, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { finalErrorTypes, refusalTypes, RETRY_WINDOW_PASSED } from '../providers/final-error-types.js';

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
 * never when it is final, within the retry window, after which the caller decides (a refund goes to
 * requires_attention). No schedule-to-close timeout: a refund queued behind a burst, or waiting for
 * its turn under the provider's rate limit, waits as long as it takes (heartbeating), and only the
 * provider's own failures use up the window.
 *
 * `window: 'ledger'` (the refund submissions): the activity keeps the window in the ledger, from the
 * refund's first transient provider failure (withinRetryWindow, src/activities/failures.ts), and
 * Temporal retries without a limit; an attempt lost to a worker that died costs nothing. Otherwise
 * the window is the attempts its backoff holds (`retryAttemptsWithin`).
 */
export function providerCalls(
  retryWindowMs: number,
  extra: Pick<ActivityOptions, 'heartbeatTimeout' | 'summary'> = {},
  window: 'attempts' | 'ledger' = 'attempts',
) {
  return proxyActivities<Activities>({
    // An attempt may wait long for its rate-limit turns; the heartbeat (every request, every second
    // of waiting) is what tells a dead worker from a waiting one.
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '20 seconds',
    retry: {
      initialInterval: BACKOFF.initialMs,
      backoffCoefficient: BACKOFF.coefficient,
      maximumInterval: BACKOFF.maximumMs,
      ...(window === 'attempts' && { maximumAttempts: retryAttemptsWithin(retryWindowMs) }),
      nonRetryableErrorTypes: finalErrorTypes,
    },
    ...extra,
  });
}

/**
 * How a provider call that was not a success reads as a refund's end: a documented refusal given
 * before the provider acted (`refusalTypes`) is `failed`, and nothing else is (money-safety rule 6).
 * The retry window passing (with the provider's last failure type), retries that ran out, or any
 * other failure that ends the call is `requires_attention`: nothing proves the refund did not happen.
 */
export function providerCallEnd(err: ActivityFailure, retryWindowMs: number): { status: 'failed' | 'requires_attention'; code: string; message: string } {
  const cause = applicationCause(err);
  if (cause?.type === RETRY_WINDOW_PASSED) {
    const [details] = (cause.details ?? []) as Array<{ code?: string } | undefined>;
    return { status: 'requires_attention', code: details?.code ?? 'ProviderUnavailable', message: cause.message };
  }
  if (cause?.nonRetryable && cause.type && refusalTypes.includes(cause.type)) return { status: 'failed', code: cause.type, message: cause.message };
  if (cause?.nonRetryable) return { status: 'requires_attention', code: cause.type ?? 'ProviderCallEnded', message: cause.message };
  return {
    status: 'requires_attention',
    code: cause?.type ?? 'ProviderUnavailable',
    message: `the provider still failed after retrying for ${Math.round(retryWindowMs / 1000)}s: ${cause?.message ?? err.message}`,
  };
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
