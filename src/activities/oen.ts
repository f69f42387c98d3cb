import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { OenRefundRequested, ProviderOutcome } from '../domain/refund.js';
import type { RefundLedger } from '../ledger/refunds.js';
import { ProviderError } from '../providers/errors.js';
import type { OenClient } from '../providers/oen/client.js';
import type { OenSubscription, OenTransaction } from '../providers/oen/schemas.js';
import { toApplicationFailure } from './failures.js';

export interface OenActivityDeps {
  oen: OenClient;
  ledger: RefundLedger;
}

/** What Oen's own record of a transaction proves about our refund. */
export type OenVerdict =
  | { kind: 'refunded' }
  | { kind: 'charged' }
  /** A state we cannot explain: a person must decide. */
  | { kind: 'unexplained'; reason: string };

export function judgeOenTransaction(transactions: OenTransaction[], request: OenRefundRequested): OenVerdict {
  const t = transactions.find((candidate) => candidate.id === request.transactionHid);
  if (!t) {
    return { kind: 'unexplained', reason: `Oen does not list transaction ${request.transactionHid} under order ${request.orderId}` };
  }
  const method = t.paymentInfo?.method;
  if (method !== undefined && method !== 'card') {
    return {
      kind: 'unexplained',
      reason: `transaction ${t.id} was paid by ${method}: ATM/CVS payments must be refunded by a person in Oen's CRM back office`,
    };
  }
  if (t.status === 'refunded' || t.refundAmount > 0) {
    if (t.refundAmount === request.amount) return { kind: 'refunded' };
    return {
      kind: 'unexplained',
      reason: `Oen shows NT$${t.refundAmount} refunded on ${t.id} (status ${t.status}), but this refund is NT$${request.amount}`,
    };
  }
  if (t.status === 'charged') return { kind: 'charged' };
  return { kind: 'unexplained', reason: `Oen shows transaction ${t.id} as "${t.status}"` };
}

/** A verdict that settles the refund; undefined for "still charged". Oen's reference is the HID. */
function outcomeOf(verdict: OenVerdict, hid: string, note: string): ProviderOutcome | undefined {
  if (verdict.kind === 'refunded') return { outcome: 'succeeded', providerReference: hid, note };
  if (verdict.kind === 'unexplained') return { outcome: 'requires_attention', code: 'OenStateUnexplained', reason: verdict.reason };
  return undefined;
}

/** Provider failures become Temporal failures; anything else is a bug and stays as it is. */
async function providerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof ProviderError ? toApplicationFailure(err) : err;
  }
}

export function createOenActivities({ oen, ledger }: OenActivityDeps) {
  const check = async (request: OenRefundRequested, signal: AbortSignal): Promise<OenVerdict> =>
    judgeOenTransaction(await providerCall(() => oen.listTransactions(request.orderId, { signal })), request);

  return {
    /**
     * Check, then act (money-safety rule 2). Every attempt first asks Oen for the order's
     * transactions: a refund of this amount already there is our success, with no second POST;
     * a state we cannot explain goes to a person. Only a transaction still charged is refunded.
     * An unknown outcome or a V0002 answer is reconciled the same way before anything else.
     */
    submitOenRefund: async (request: OenRefundRequested): Promise<ProviderOutcome> => {
      const context = Context.current();
      const signal = context.cancellationSignal;
      const hid = request.transactionHid;
      await ledger.recordAttempt(request.refundId, context.info.attempt);

      const before = outcomeOf(await check(request, signal), hid, 'Oen already showed this refund; none was sent');
      if (before) return before;

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
          { signal },
        );
        return (
          outcomeOf(judgeOenTransaction([refunded], request), hid, 'refunded') ?? {
            outcome: 'requires_attention',
            code: 'OenStateUnexplained',
            reason: `Oen accepted the refund but shows ${hid} as "${refunded.status}"`,
          }
        );
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.type !== 'OenV0002' && err.kind !== 'unknown') throw toApplicationFailure(err);
        context.heartbeat('reconciling');
        const after = outcomeOf(await check(request, signal), hid, `reconciled after ${err.type}`);
        if (after) return after;
        if (err.type === 'OenV0002') {
          return {
            outcome: 'requires_attention',
            code: 'OenV0002',
            reason: `Oen refused the refund as "wrong transaction state" (V0002) but shows ${hid} charged and not refunded`,
          };
        }
        // The outcome was unknown and Oen shows no refund: sending again is safe, on the next attempt.
        throw ApplicationFailure.retryable(`${err.message}; Oen shows no refund of ${hid}, so it will be sent again`, err.type);
      }
    },

    listOrderTransactions: async (orderId: string): Promise<OenTransaction[]> =>
      providerCall(() => oen.listTransactions(orderId, { signal: Context.current().cancellationSignal })),

    cancelOenSubscription: async (request: { subscriptionId: string; merchantId?: string; reason?: string }): Promise<OenSubscription> =>
      providerCall(() =>
        oen.cancelSubscription(
          request.subscriptionId,
          { reason: request.reason, merchantId: request.merchantId },
          { signal: Context.current().cancellationSignal },
        ),
      ),
  };
}

