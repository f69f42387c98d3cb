import type { ProviderFailureTypes } from './policy.js';
import type { RefundStatus, TransitionFields } from './refund-status.js';
import { codes, errorCode, type ErrorCode, type RecordError } from './failures.js';

/**
 * How a provider call ends for a refund. Pure: the workflows find a refund's end with
 * `providerCallEnd`, and its unit tests (test/unit/provider-call.test.ts) run without a server.
 */

/** What a provider activity concludes. Provider refusals are not outcomes: they fail the activity. */
export type ProviderOutcome =
  | { outcome: 'succeeded'; providerReference: string; note?: string }
  /** The provider's state contradicts ours, or the outcome is unknown and cannot be checked. */
  | { outcome: 'requires_attention'; code: ErrorCode; reason: string };

/** The provider's failure behind a failed provider call, as Temporal delivered it. */
export interface CallFailure {
  type?: string | null | undefined;
  nonRetryable?: boolean | null | undefined;
  message: string;
  details?: readonly unknown[] | null | undefined;
}

/**
 * A refund's end as the ledger will record it: the status, and what the move writes beside it.
 * `note`: what the provider's success said of itself (Oen: "refunded", "Oen already showed this
 * refund; none was sent", "reconciled after …"), for a report.
 */
export type RefundEnd = { status: RefundStatus; fields: TransitionFields; note?: string };

/**
 * The end a provider call's outcome records: `succeeded` with the provider's reference (and any
 * earlier error cleared), or `requires_attention` with why. The refund run's workflow and its
 * provider call (which records it itself: src/activities/submission.ts) read an outcome the same way.
 */
export function outcomeEnd(result: ProviderOutcome): RefundEnd {
  return result.outcome === 'succeeded'
    ? { status: 'succeeded', fields: { providerReference: result.providerReference, error: null }, ...(result.note !== undefined && { note: result.note }) }
    : { status: 'requires_attention', fields: { error: { code: result.code, message: result.reason } } };
}

export interface ProviderCallEnd extends RecordError {
  status: 'failed' | 'requires_attention';
}

/**
 * A refund's requires_attention message when its provider kept failing past the retry window: one
 * plain sentence of what happens now, then the provider's last failure for whoever looks into it.
 */
export function retryWindowPassedMessage(retryWindowMs: number, lastFailure: string): string {
  return `The provider kept failing for ${Math.round(retryWindowMs / 1000)} s, so nothing more is sent until a person settles this refund (its last failure: ${lastFailure})`;
}

/**
 * How a provider call that was not a success reads as a refund's end: a documented refusal given
 * before the provider acted (`failureTypes.refusals`) is `failed`, and nothing else is (money-safety
 * rule 6). The retry window passing (with the provider's last failure type), retries that ran out,
 * any other failure that ends the call, or no provider failure at all (`cause` undefined: a timeout,
 * a cancellation) is `requires_attention`: nothing proves the refund did not happen.
 */
export function providerCallEnd(
  cause: CallFailure | undefined,
  failureTypes: Pick<ProviderFailureTypes, 'refusals'>,
  retryWindowMs: number,
  fallbackMessage: string,
): ProviderCallEnd {
  if (cause?.type === codes.RetryWindowPassed) {
    const [details] = (cause.details ?? []) as Array<{ code?: string } | undefined>;
    return { status: 'requires_attention', code: errorCode(details?.code, codes.ProviderUnavailable), message: cause.message };
  }
  if (cause?.nonRetryable && cause.type && failureTypes.refusals.includes(cause.type)) {
    return { status: 'failed', code: errorCode(cause.type, codes.ProviderCallEnded), message: cause.message };
  }
  if (cause?.nonRetryable) return { status: 'requires_attention', code: errorCode(cause.type, codes.ProviderCallEnded), message: cause.message };
  return {
    status: 'requires_attention',
    code: errorCode(cause?.type, codes.ProviderUnavailable),
    message: retryWindowPassedMessage(retryWindowMs, cause?.message ?? fallbackMessage),
  };
}
