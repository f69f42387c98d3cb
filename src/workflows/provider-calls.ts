import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { RunPolicy } from '../domain/policy.js';
import { outcomeEnd, providerCallEnd, type ProviderCallEnd, type RefundEnd } from '../domain/provider-call.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { ProviderCallOptions } from '../activities/submission.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';
import { profiles, type ProviderActivities } from './activity-options.js';

/**
 * A proxy of the provider calls, with their options (profiles.provider, src/workflows/activity-options.ts):
 * retried while the failure is transient, within the policy's retry window. `summary` names the call
 * in the Web UI.
 */
export function providerCalls(
  policy: Pick<RunPolicy, 'retryWindowMs' | 'failureTypes'>,
  named: Pick<ActivityOptions, 'summary'> = {},
  window: 'attempts' | 'ledger' = 'attempts',
) {
  return proxyActivities<ProviderActivities>({ ...profiles.provider(policy, window), ...named });
}

/**
 * Sends the refund to its provider (check, then act: src/activities/oen.ts, mwd.ts); the answer, or
 * how the call ended (src/domain/provider-call.ts), is the refund's end: `succeeded` with the
 * provider's reference, `failed` only for a documented refusal, otherwise `requires_attention`.
 * A refund run's submission, a person's retry (src/workflows/resolve.ts) and reconciliation's send
 * again (src/workflows/reconcile.ts) all end here. `options.recordEnd` (a refund run's): the call records
 * the end itself, and answers the ledger's `record` with it, unless the ledger did not take it then.
 */
export async function submitRefund(
  request: RefundRequested,
  policy: RunPolicy,
  summary: string,
  options?: ProviderCallOptions,
): Promise<RefundEnd & { record?: RefundRecord }> {
  const { submitOenRefund, submitMwdRefund } = providerCalls(policy, { summary }, 'ledger');
  const { retryWindowMs } = policy;
  try {
    const result = request.provider === 'oen' ? await submitOenRefund(request, retryWindowMs, options) : await submitMwdRefund(request, retryWindowMs, options);
    return { ...outcomeEnd(result), ...(result.record && { record: result.record }) };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const { status, code, message } = callEnd(err, policy);
    return { status, fields: { error: { code, message } } };
  }
}

/** How a failed provider call ends the refund (src/domain/provider-call.ts says which end). */
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
