import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RunPolicy } from '../domain/policy.js';
import { providerCallEnd, type ProviderCallEnd, type RefundEnd } from '../domain/provider-call.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';

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
  policy: Pick<RunPolicy, 'retryWindowMs' | 'failureTypes'>,
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
      ...(window === 'attempts' && { maximumAttempts: retryAttemptsWithin(policy.retryWindowMs) }),
      nonRetryableErrorTypes: [...policy.failureTypes.final],
    },
    ...extra,
  });
}

/**
 * Sends the refund to its provider (check, then act: src/activities/oen.ts, mwd.ts); the answer, or
 * how the call ended (src/domain/provider-call.ts), is the refund's end: `succeeded` with the
 * provider's reference, `failed` only for a documented refusal, otherwise `requires_attention`.
 * A refund run's submission, a person's retry (src/workflows/resolve.ts) and reconciliation's send
 * again (src/workflows/reconcile.ts) all end here.
 */
export async function submitRefund(request: RefundRequested, policy: RunPolicy, summary: string): Promise<RefundEnd> {
  const { submitOenRefund, submitMwdRefund } = providerCalls(policy, { heartbeatTimeout: '20 seconds', summary }, 'ledger');
  try {
    const result =
      request.provider === 'oen' ? await submitOenRefund(request, policy.retryWindowMs) : await submitMwdRefund(request, policy.retryWindowMs);
    return result.outcome === 'succeeded'
      ? { status: 'succeeded', fields: { providerReference: result.providerReference, error: null }, ...(result.note !== undefined && { note: result.note }) }
      : { status: 'requires_attention', fields: { error: { code: result.code, message: result.reason } } };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const { status, code, message } = callEnd(err, policy);
    return { status, fields: { error: { code, message } } };
  }
}

/** How a failed provider call ends the refund (src/domain/provider-call.ts decides). */
export function callEnd(err: ActivityFailure, policy: Pick<RunPolicy, 'retryWindowMs' | 'failureTypes'>): ProviderCallEnd {
  return providerCallEnd(applicationCause(err), policy.failureTypes, policy.retryWindowMs, err.message);
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
