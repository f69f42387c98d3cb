import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { OenShows } from '../domain/oen-shows.js';
import type { OenRefundRequested } from '../domain/schemas/refund-request.js';
import type { ProviderOutcome } from '../domain/provider-call.js';
import type { RefundLedger } from '../ledger/refunds.js';
import { ProviderError } from '../providers/errors.js';
import { oenRefusals } from '../providers/oen/errors.js';
import type { OenClient } from '../providers/oen/client.js';
import type { OenSubscription, OenTransaction } from '../providers/oen/schemas.js';
import { oenShows } from '../providers/oen/shows.js';
import { toApplicationFailure } from './failures.js';
import { codes } from '../domain/failures.js';
import type { EngineMetrics } from '../domain/metrics.js';
import { submission, type ProviderCallOptions, type RecordedOutcome } from './submission.js';

export interface OenActivityDeps {
  oen: OenClient;
  ledger: RefundLedger;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

/**
 * What Oen shows, as it settles the refund; undefined for "still charged". Oen's reference is the HID.
 * `before`: what came before the check (the answer that made it necessary), for the record.
 */
function outcomeOf(shows: OenShows, hid: string, note: string, before?: string): ProviderOutcome | undefined {
  if (shows.kind === 'refunded') return { outcome: 'succeeded', providerReference: hid, note };
  if (shows.kind === 'charged') return undefined;
  const reason = before ? `${before}; then ${shows.evidence}` : shows.evidence;
  return { outcome: 'requires_attention', code: shows.kind === 'unreachable' ? codes.OenCheckFailed : codes.OenStateUnexplained, reason };
}

/** Provider failures become Temporal failures; anything else is a bug and stays as it is. */
async function providerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof ProviderError ? toApplicationFailure(err) : err;
  }
}

/** A heartbeat while a request waits its turn under OEN_RATE_LIMIT. */
const waitingForOen = () => Context.current().heartbeat('waiting for the Oen rate limit');

export function createOenActivities({ oen, ledger, metrics }: OenActivityDeps) {
  /**
   * Asks Oen for the order's transactions and judges ours (every page heartbeats: a long order is
   * progress). A list that cannot be read now is asked again on the next attempt, within the retry
   * window; one that can never be read (unauthorised, no such order) is a check that could not be
   * made — never a reason to call the refund failed.
   */
  const check = async (request: OenRefundRequested, signal: AbortSignal): Promise<OenShows> => {
    try {
      const transactions = await oen.listTransactions(request.orderId, {
        signal,
        onRequest: () => Context.current().heartbeat('checking'),
        onWait: waitingForOen,
      });
      return oenShows(transactions, request, { cardPaymentsOnly: true });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.kind !== 'final') throw toApplicationFailure(err, `checking transaction ${request.transactionHid} at Oen: ${err.message}`);
      return { kind: 'unreachable', evidence: `Oen's transaction list could not be read: ${err.message}` };
    }
  };

  /** One attempt: check, then act (submitOenRefund). */
  const sendOenRefund = async (request: OenRefundRequested, context: Context): Promise<ProviderOutcome> => {
    const signal = context.cancellationSignal;
    const hid = request.transactionHid;
    const before = outcomeOf(await check(request, signal), hid, 'Oen already showed this refund; none was sent');
    if (before) return before;

    const earlierSends = await ledger.noteSend(request.refundId);
    context.heartbeat('sending');
    try {
      const refunded = await oen.refund(
        hid,
        {
          amount: request.amount,
          reason: request.reason,
          merchantId: request.merchantId,
          productDetails: request.productDetails,
          remitInfo: request.remitInfo,
        },
        { signal, onWait: waitingForOen },
      );
      return (
        outcomeOf(oenShows([refunded], request), hid, 'refunded') ?? {
          outcome: 'requires_attention',
          code: codes.OenStateUnexplained,
          reason: `Oen accepted the refund but shows ${hid} as "${refunded.status}"`,
        }
      );
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      // F0001: the next attempt checks before it sends.
      if (err.kind === 'retryable') throw toApplicationFailure(err);
      const refusal = err.refusal;
      // A refusal of the first send is proof that nothing was refunded. After an earlier send, that
      // send may have been carried out: Oen is asked, like after any answer that proves nothing.
      if (refusal && earlierSends === 0) throw toApplicationFailure(err);
      context.heartbeat('reconciling');
      const after = outcomeOf(await check(request, signal), hid, `reconciled after ${err.type}`, `Oen answered: ${err.message}`);
      if (after) return after;
      if (refusal) {
        throw toApplicationFailure(err, `${err.message}; Oen shows ${hid} charged and not refunded, after ${earlierSends + 1} sends`);
      }
      if (err.type === oenRefusals.V0002!.type) {
        return {
          outcome: 'requires_attention',
          code: oenRefusals.V0002!.type,
          reason: `Oen refused the refund as "wrong transaction state" (V0002) but shows ${hid} charged and not refunded`,
        };
      }
      // The outcome was unknown and Oen shows no refund: sending again is safe, on the next attempt —
      // if there is one (past the retry window, this becomes the last failure a person reads).
      throw toApplicationFailure(err, `${err.message}; Oen shows no refund of ${hid}`);
    }
  };

  return {
    /**
     * Check, then act (money-safety rule 2). Every attempt first asks Oen for the order's
     * transactions: a refund of this amount already there is our success, with no second POST;
     * a state we cannot explain goes to a person. Only a transaction still charged is refunded.
     * Any answer to the refund that proves nothing (a status or body Oen does not document, no
     * answer at all), a V0002, or a refusal after an earlier send, is reconciled the same way
     * before anything else (money-safety rule 6: `failed` only where Oen provably did not refund).
     *
     * `retryWindowMs`: the run's PROVIDER_RETRY_WINDOW_SECONDS, as its policy read it (the one way the
     * window reaches a provider call: src/activities/failures.ts, withinRetryWindow). `options.recordEnd`:
     * the refund's end is recorded by this call, and answered with the outcome (src/activities/submission.ts).
     */
    submitOenRefund: async (request: OenRefundRequested, retryWindowMs: number, options?: ProviderCallOptions): Promise<RecordedOutcome> => {
      const context = Context.current();
      return submission({ ledger, metrics }, request.refundId, { retryWindowMs, ...options }, () => sendOenRefund(request, context));
    },

    listOrderTransactions: async (orderId: string): Promise<OenTransaction[]> => {
      const context = Context.current();
      return providerCall(() =>
        oen.listTransactions(orderId, { signal: context.cancellationSignal, onRequest: () => context.heartbeat('listing'), onWait: waitingForOen }),
      );
    },

    /**
     * Oen cannot be asked about a subscription, but cancelling is no money movement: a cancel whose
     * outcome was unknown is sent again. If that answer is V0002 (wrong state), the earlier attempt
     * most likely cancelled it; that is said plainly for a person to confirm, not called a failure
     * of the cancel nor a success.
     */
    cancelOenSubscription: async (request: { subscriptionId: string; merchantId?: string; reason?: string }): Promise<OenSubscription> => {
      const context = Context.current();
      try {
        return await oen.cancelSubscription(
          request.subscriptionId,
          { reason: request.reason, merchantId: request.merchantId },
          { signal: context.cancellationSignal, onWait: waitingForOen },
        );
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.type === oenRefusals.V0002!.type && context.info.attempt > 1) {
          throw ApplicationFailure.nonRetryable(
            `Oen answers V0002 (wrong state) for subscription ${request.subscriptionId} after an earlier attempt got no answer: ` +
              "that attempt most likely cancelled it. Confirm in Oen's back office",
            codes.OenSubscriptionUnconfirmed,
          );
        }
        throw toApplicationFailure(err);
      }
    },
  };
}
