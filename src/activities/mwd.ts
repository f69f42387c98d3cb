import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { MwdRefundRequested } from '../domain/schemas/refund-request.js';
import type { ProviderOutcome } from '../domain/provider-call.js';
import type { RefundLedger } from '../ledger/refunds.js';
import { ProviderError } from '../providers/errors.js';
import type { MwdClient } from '../providers/mwd/client.js';
import { ledgerCall, senderName, settledOutcome, toApplicationFailure } from './failures.js';
import { codes } from '../domain/failures.js';
import type { EngineMetrics } from '../domain/metrics.js';
import { submission, type ProviderCallOptions, type RecordedOutcome } from './submission.js';

export interface MwdActivityDeps {
  mwd: MwdClient;
  ledger: RefundLedger;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

const CANNOT_ASK = 'MWD cannot be asked whether the refund happened: check with MWD before anything else is done';

/**
 * What MWD's failed answer to a send means for the refund, given how many sends of it went before
 * (the ledger's count): an outcome to record, or `undefined` when the failure is Temporal's to
 * handle (retried, or final). Pure: test/unit/mwd-answer.test.ts.
 *
 * An unknown outcome goes to a person. So does a refusal after an earlier send: that send was
 * answered HTTP 500 and sent again on the design card's word, but MWD's 500 may have come after it
 * refunded, and then this refusal can be MWD refusing a second refund of an order it refunded.
 * MWD cannot be asked, so nothing proves the refund did not happen (money-safety rule 6).
 */
export function mwdFailureOutcome(err: Pick<ProviderError, 'kind' | 'refusal' | 'type' | 'message'>, earlierSends: number): ProviderOutcome | undefined {
  if (err.kind === 'unknown') return { outcome: 'requires_attention', code: err.type, reason: `${err.message}. ${CANNOT_ASK}` };
  if (err.refusal && earlierSends > 0) {
    return {
      outcome: 'requires_attention',
      code: codes.MwdRefusedAfterResend,
      reason:
        `${err.message}, after ${earlierSends} earlier ${earlierSends === 1 ? 'send' : 'sends'} of this refund, answered with a failure and sent again: ` +
        `had MWD refunded before that answer, this refusal may be MWD refusing a second refund. ${CANNOT_ASK}`,
    };
  }
  return undefined;
}

export function createMwdActivities({ mwd, ledger, metrics }: MwdActivityDeps) {
  /** One attempt: wait for the turn, claim the send, send (submitMwdRefund). */
  const sendMwdRefund = async (request: MwdRefundRequested, context: Context): Promise<ProviderOutcome> => {
    // The wait for MWD_RATE_LIMIT comes before the send is recorded: an attempt that dies waiting
    // has sent nothing and must not leave a mark that says it may have. (Only a turn gone stale
    // while the mark was written, rarely, is waited for again after it.)
    const waitingForMwd = () => context.heartbeat('waiting for the MWD rate limit');
    const turn = await mwd.takeTurn({ signal: context.cancellationSignal, onWait: waitingForMwd });
    const sender = senderName(context.info);
    const claim = await ledgerCall(() => ledger.markSending(request.refundId, sender));
    if (!claim.claimed) {
      // Whatever happened since the check above (a timed-out attempt still running beside its retry).
      const settledSince = settledOutcome(claim.record);
      if (settledSince) return settledSince;
      if (claim.unansweredBy !== undefined) {
        return {
          outcome: 'requires_attention',
          code: codes.MwdOutcomeUnknown,
          reason: `${claim.unansweredBy} sent the refund to MWD and never recorded an answer. ${CANNOT_ASK}`,
        };
      }
      throw ApplicationFailure.nonRetryable(
        `Refund ${request.refundId} is ${claim.record.status} in the ledger, not being submitted: nothing was sent to MWD`,
        codes.LedgerRefused,
      );
    }
    const earlierSends = await ledger.noteSend(request.refundId);
    context.heartbeat('sending');
    try {
      const result = await mwd.refund(
        request.orderId,
        { cardToken: request.cardToken, amount: request.amount },
        { signal: context.cancellationSignal, onWait: waitingForMwd, turn },
      );
      if (!(await ledger.markAnswered(request.refundId, sender, result.serviceTradeNo))) {
        // Another sender holds the row since this send was marked: a second send may be at MWD too.
        return {
          outcome: 'requires_attention',
          code: codes.MwdOutcomeUnknown,
          reason: `MWD refunded this send (${result.serviceTradeNo}), but ${sender}'s send mark was no longer the row's: another send of it may have reached MWD. ${CANNOT_ASK}`,
        };
      }
      return { outcome: 'succeeded', providerReference: result.serviceTradeNo };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      // An unknown outcome keeps the unanswered-send mark: no attempt or run may send it again.
      if (err.kind !== 'unknown') await ledger.markAnswered(request.refundId, sender);
      const outcome = mwdFailureOutcome(err, earlierSends);
      if (outcome) return outcome;
      throw toApplicationFailure(err);
    }
  };

  return {
    /**
     * MWD has no way to ask what happened (money-safety rule 2). An HTTP 500 is MWD saying it did not
     * refund, so it is retried; no answer at all goes to a person, never to a blind resend. That
     * includes an earlier attempt that sent and then died (worker stopped, activity timed out):
     * the ledger remembers the send until an answer is recorded, across runs. A refund the ledger
     * already holds as settled is never sent again.
     *
     * `retryWindowMs`: the run's PROVIDER_RETRY_WINDOW_SECONDS, as its policy read it (the one way the
     * window reaches a provider call: src/activities/failures.ts, withinRetryWindow). `options.recordEnd`:
     * the refund's end is recorded by this call, and answered with the outcome (src/activities/submission.ts).
     */
    submitMwdRefund: async (request: MwdRefundRequested, retryWindowMs: number, options?: ProviderCallOptions): Promise<RecordedOutcome> => {
      const context = Context.current();
      return submission({ ledger, metrics }, request.refundId, { retryWindowMs, ...options }, () => sendMwdRefund(request, context));
    },
  };
}
