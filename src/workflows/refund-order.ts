import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  patched,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { orderCancelled, orderRefundId, type NotRefunded, type OrderCancelled, type OrderRefundResult } from '../domain/order.js';
import { notACardPayment, refundRecord, refundRequested, type OenRefundRequested, type RefundRecord } from '../domain/refund.js';
import { refundStartOptions } from '../domain/refund-start.js';
import { localLedger, outcomeEvents, refundWorkflow } from './refund.js';
import { providerCalls, refundPolicy } from './provider-calls.js';
import { parseWorkflowInput } from './validation.js';

/**
 * `order.cancelled`: refund every charged, not yet refunded card transaction of the Oen order in
 * full, each in its own refundWorkflow (so each keeps its one-refund-per-transaction guard), and
 * cancel the subscription if one is named. What it cannot do is written to the ledger for a person,
 * with its outcome event, not only to this run's result: ATM/CVS payments (only Oen's back office
 * can refund them) and refunds whose run ended without a record become refunds in
 * `requires_attention`; a subscription cancel Oen did not confirm is kept as such.
 */
export async function refundOrderWorkflow(input: OrderCancelled): Promise<OrderRefundResult> {
  const order = parseWorkflowInput(orderCancelled, input, 'order.cancelled data');
  const policy = await refundPolicy();
  const { listOrderTransactions } = providerCalls(policy.retryWindowMs, { summary: `Oen list transactions of order ${order.orderId}` });

  const transactions = await listOrderTransactions(order.orderId);
  const notRefunded: NotRefunded[] = [];
  const children: Array<Promise<RefundRecord | NotRefunded>> = [];

  for (const t of transactions) {
    if (t.status !== 'charged' || t.refundAmount > 0) {
      notRefunded.push({ transactionHid: t.id, status: 'skipped', reason: `not charged (Oen shows "${t.status}")` });
      continue;
    }
    const notCard = notACardPayment(t);
    if (notCard !== undefined) {
      notRefunded.push({ transactionHid: t.id, status: 'requires_attention', reason: notCard });
      continue;
    }
    const request = refundRequested.safeParse({
      refundId: orderRefundId(order.orderId, t.id),
      provider: 'oen',
      orderId: order.orderId,
      transactionHid: t.id,
      amount: t.amount,
      ...(order.reason !== undefined && { reason: order.reason }),
    });
    if (!request.success) {
      notRefunded.push({ transactionHid: t.id, status: 'requires_attention', reason: `cannot form its refund: ${request.error.message}` });
      continue;
    }
    try {
      const child = await startChild(refundWorkflow, {
        ...refundStartOptions(request.data),
        args: [request.data],
        // Each refund runs to its end even if this order's run is terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      children.push(child.result().catch((err: unknown) => recordOfFailedRefund(t.id, err)));
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      notRefunded.push({ transactionHid: t.id, status: 'skipped', reason: 'a refund run for this transaction already exists' });
    }
  }

  const settled = await Promise.all(children);
  const refunds = settled.filter((r): r is RefundRecord => 'refundId' in r);
  notRefunded.push(...settled.filter((r): r is NotRefunded => !('refundId' in r)));
  const result: OrderRefundResult = { orderId: order.orderId, refunds, notRefunded };
  // Runs recorded before the `order-exceptions` patch replay without writing these to the ledger.
  const keep = patched('order-exceptions');
  if (keep) {
    for (const left of notRefunded.filter((n) => n.status === 'requires_attention')) {
      const t = transactions.find((candidate) => candidate.id === left.transactionHid);
      if (!t) continue; // every entry names a listed transaction
      const request: OenRefundRequested = {
        refundId: orderRefundId(order.orderId, t.id),
        provider: 'oen',
        orderId: order.orderId,
        transactionHid: t.id,
        amount: t.amount,
      };
      const kept = await localLedger(`Ledger: ${request.refundId} left for a person`).recordForPerson(request, workflowInfo().workflowId, {
        code: 'NotRefundedByOrder',
        message: left.reason,
      });
      if (kept) await outcomeEvents(`Tell order management: refund.requires_attention for ${kept.refundId}`).deliverOutcome(kept);
    }
  }
  if (order.subscriptionId !== undefined) {
    // The refunds are done and reported whatever happens to the subscription.
    try {
      const { cancelOenSubscription } = providerCalls(policy.retryWindowMs, { summary: `Oen cancel subscription ${order.subscriptionId}` });
      const subscription = await cancelOenSubscription({ subscriptionId: order.subscriptionId, reason: order.reason });
      result.subscription = { id: subscription.id, status: subscription.status };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const reason = `not cancelled: ${err.cause?.message ?? err.message}`;
      result.subscription = { id: order.subscriptionId, status: 'requires_attention', reason };
      if (keep) {
        const kept = await localLedger(`Ledger: subscription ${order.subscriptionId} not confirmed cancelled`).recordUnconfirmedSubscriptionCancel({
          subscriptionId: order.subscriptionId,
          orderId: order.orderId,
          reason,
          workflowId: workflowInfo().workflowId,
        });
        if (kept) await outcomeEvents(`Tell order management: subscription.requires_attention for ${kept.subscriptionId}`).deliverSubscriptionOutcome(kept);
      }
    }
  }
  return result;
}

/**
 * A refund that ended failed or cancelled carries its record in the failure's details. One that
 * ended without a record (refused as a duplicate, the ledger refusing a move, terminated) is reported
 * for a person with its reason; the other refunds of the order, and the subscription, go on.
 */
function recordOfFailedRefund(transactionHid: string, err: unknown): RefundRecord | NotRefunded {
  if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
    const parsed = refundRecord.safeParse(err.cause.details?.[0]);
    if (parsed.success) return parsed.data;
  }
  const cause = err instanceof ChildWorkflowFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
  return { transactionHid, status: 'requires_attention', reason: `its refund run ended without a refund record: ${cause}` };
}
