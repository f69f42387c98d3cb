import { ApplicationFailure } from '@temporalio/common';
import { retryWindowPassedMessage, type ProviderOutcome } from '../domain/provider-call.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { LedgerError, type RefundLedger } from '../ledger/refunds.js';
import type { ProviderError } from '../providers/errors.js';
import { codes } from '../domain/failures.js';

/**
 * A provider failure as Temporal sees it: the type names the provider's code, final ones are not
 * retried. Only the error's safe fields cross over (its message already has card numbers masked).
 */
export function toApplicationFailure(err: ProviderError, message = err.message): ApplicationFailure {
  return ApplicationFailure.create({
    type: err.type,
    message,
    nonRetryable: err.kind === 'final',
    details: [err.details],
    // A 429's Retry-After: the next attempt waits at least that long.
    ...(err.details.retryAfterMs !== undefined && { nextRetryDelay: err.details.retryAfterMs }),
  });
}

/**
 * A move the ledger refuses will be refused on every retry too: it ends the activity at once, with
 * the ledger's reason, instead of retrying forever. Anything else (the database away) is retried.
 */
export async function ledgerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof LedgerError) throw ApplicationFailure.nonRetryable(err.message, codes.LedgerRefused);
    throw err;
  }
}

/**
 * Before anything is sent: a refund the ledger already holds as succeeded (or whose provider success
 * an earlier attempt recorded), or handed to a person, is never sent again, whichever run asks (a
 * Reset in the Web UI replays a run from an earlier point).
 */
export async function settledInLedger(ledger: RefundLedger, refundId: string): Promise<ProviderOutcome | undefined> {
  return settledOutcome(await ledger.get(refundId));
}

/** What a ledger row already settles, as `settledInLedger` reads it; undefined when nothing is settled. */
export function settledOutcome(current: RefundRecord | undefined): ProviderOutcome | undefined {
  if (current?.status === 'succeeded') {
    return {
      outcome: 'succeeded',
      providerReference: current.providerReference ?? '',
      note: 'the ledger already records this refund as succeeded; nothing was sent',
    };
  }
  if (current?.status === 'submitting' && current.providerReference) {
    // An earlier attempt got the provider's success and recorded it, then its result was lost.
    return {
      outcome: 'succeeded',
      providerReference: current.providerReference,
      note: "an earlier attempt recorded the provider's success in the ledger; nothing was sent again",
    };
  }
  if (current?.status === 'requires_attention') {
    return {
      outcome: 'requires_attention',
      code: current.error?.code ?? codes.RequiresAttention,
      reason: current.error?.message ?? 'the ledger already hands this refund to a person; nothing was sent',
    };
  }
  return undefined;
}

/**
 * PROVIDER_RETRY_WINDOW_SECONDS, kept in the ledger: it starts with the refund's first transient
 * provider failure, so time queued behind a burst, waiting for rate-limit turns, or lost to a worker
 * that died is not counted. A transient failure after the window passed fails the call for good with
 * RetryWindowPassed, carrying the provider's failure. (It is checked on failure, not when an attempt
 * starts: an attempt after a worker died first finds what that attempt left — an MWD send never
 * answered, an Oen refund made — and says so.)
 */
export async function withinRetryWindow<T>(ledger: RefundLedger, refundId: string, windowMs: number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ApplicationFailure && !err.nonRetryable) {
      if ((await ledger.noteTransientFailure(refundId)) > windowMs) {
        throw ApplicationFailure.nonRetryable(retryWindowPassedMessage(windowMs, err.message), codes.RetryWindowPassed, {
          code: err.type ?? codes.ProviderUnavailable,
        });
      }
    }
    throw err;
  }
}

/** Names one attempt of one run, for the ledger's record of a send that was never answered. */
export function senderName(info: { attempt: number; workflowExecution?: { runId: string } }): string {
  return `attempt ${info.attempt} of run ${info.workflowExecution?.runId ?? '(not a workflow run)'}`;
}
