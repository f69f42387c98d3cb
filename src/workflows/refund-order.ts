import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { isRefundRecord, orderCancelledProblems } from '../domain/guards.js';
import { notACardPayment, orderRefundId, type NotRefunded, type OrderRefundResult } from '../domain/order.js';
import { oneRefundPerTransaction, refundStartOptions, refundWorkflowId } from '../domain/refund-start.js';
import type { OrderCancelled } from '../domain/schemas/order-events.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { OenRefundRequested } from '../domain/schemas/refund-request.js';
import { profiles, type InspectionActivities } from './activity-options.js';
import { providerCalls } from './provider-calls.js';
import { refundWorkflow } from './refund.js';
import { checkEventData, deliveries, ledgerStep, outcomeInOutbox, readPolicy, tellOrderManagement } from './steps.js';
import { checkInput, notRequestedFailure } from './validation.js';
import { codes } from '../domain/failures.js';

/**
 * `order.cancelled`: refund every charged, not yet refunded card transaction of the Oen order in
 * full, each in its own refundWorkflow (so each keeps its one-refund-per-transaction guard), and
 * cancel the subscription if one is named. What it cannot do is written to the ledger for a person,
 * with its outcome event, not only to this run's result: ATM/CVS payments (only Oen's back office
 * can refund them) and refunds whose run ended without a record become refunds in
 * `requires_attention`; a subscription cancel Oen did not confirm is kept as such.
 */
export async function refundOrderWorkflow(input: OrderCancelled): Promise<OrderRefundResult> {
  const order = checkInput(input, orderCancelledProblems(input), 'order.cancelled data');
  const notRequested = await checkEventData('order.cancelled', order);
  if (notRequested) throw notRequestedFailure(notRequested);
  const policy = await readPolicy();
  const { listOrderTransactions } = providerCalls(policy, { summary: `Oen list transactions of order ${order.orderId}` });

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
    // Each child validates its request in its first step; one that cannot be formed ends without a record, reported below.
    const request = transactionRefund(order, t);
    const child = await startRefundChild(request);
    if (child) children.push(child.result().catch((err: unknown) => recordOfFailedRefund(t.id, err)));
    else notRefunded.push({ transactionHid: t.id, status: 'skipped', reason: oneRefundPerTransaction(t.id, `the refund run ${refundWorkflowId(request)}`) });
  }

  const settled = await Promise.all(children);
  const refunds = settled.filter((r): r is RefundRecord => 'refundId' in r);
  notRefunded.push(...settled.filter((r): r is NotRefunded => !('refundId' in r)));
  const result: OrderRefundResult = { orderId: order.orderId, refunds, notRefunded };
  // What the engine would not refund is written to the ledger for a person, and told.
  for (const left of notRefunded.filter((n) => n.status === 'requires_attention')) {
    const t = transactions.find((candidate) => candidate.id === left.transactionHid);
    if (!t) continue; // every entry names a listed transaction
    const request = transactionRefund(order, t);
    const kept = await ledgerStep(`Ledger: ${request.refundId} left for a person`).recordForPerson(request, workflowInfo().workflowId, {
      code: codes.NotRefundedByOrder,
      message: left.reason,
    });
    if (kept) await tellOrderManagement(kept);
  }
  if (order.subscriptionId !== undefined) {
    // The refunds are done and reported whatever happens to the subscription.
    try {
      const { cancelOenSubscription } = providerCalls(policy, { summary: `Oen cancel subscription ${order.subscriptionId}` });
      const subscription = await cancelOenSubscription({ subscriptionId: order.subscriptionId, reason: order.reason });
      result.subscription = { id: subscription.id, status: subscription.status };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const reason = `not cancelled: ${err.cause?.message ?? err.message}`;
      result.subscription = { id: order.subscriptionId, status: 'requires_attention', reason };
      const kept = await ledgerStep(`Ledger: subscription ${order.subscriptionId} not confirmed cancelled`).recordUnconfirmedSubscriptionCancel({
        subscriptionId: order.subscriptionId,
        orderId: order.orderId,
        reason,
        workflowId: workflowInfo().workflowId,
      });
      if (kept && !outcomeInOutbox()) {
        await deliveries(`Tell order management: subscription.requires_attention for ${kept.subscriptionId}`).deliverSubscriptionOutcome(kept);
      }
    }
  }
  return result;
}

/**
 * The transaction's refund run, as a child that runs to its end even if this order's run is
 * terminated; undefined when the transaction's workflow id has a run this one may not follow. A
 * completed run of an earlier refund the ledger closed without a refund (resolved failed) is followed,
 * as a client's start follows it (startRefund): Temporal's reuse policy alone refuses it for as long
 * as its history is kept. (Runs from before this replay as they ran.)
 */
async function startRefundChild(request: OenRefundRequested): Promise<ChildWorkflowHandle<typeof refundWorkflow> | undefined> {
  const options = { ...refundStartOptions(request), args: [request] as [OenRefundRequested], parentClosePolicy: ParentClosePolicy.ABANDON };
  try {
    return await startChild(refundWorkflow, options);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  if (!patched('order-child-follows-closed-refund')) return undefined;
  try {
    const summary = `May ${request.refundId} follow the closed refund run of ${request.transactionHid}?`;
    if (!(await followCheck(summary).mayFollowRefundRun(options.workflowId, request))) return undefined;
  } catch (err) {
    // Temporal or the ledger not answering: the transaction is reported skipped, as before.
    if (!(err instanceof ActivityFailure)) throw err;
    return undefined;
  }
  try {
    // Only a closed run is followed: with the conflict policy FAIL, a run opened meanwhile refuses this start.
    return await startChild(refundWorkflow, { ...options, workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return undefined;
  }
}

/** Temporal and the ledger asked whether a closed refund run may be followed: a few tries, then the transaction is reported skipped. */
const followCheck = (summary: string) => proxyActivities<InspectionActivities>({ ...profiles.inspection.refundRun, summary });

/** The refund of one transaction of the order, in full: `<orderId>:<transactionHid>`. */
function transactionRefund(order: OrderCancelled, t: { id: string; amount: number }): OenRefundRequested {
  return {
    refundId: orderRefundId(order.orderId, t.id),
    provider: 'oen',
    orderId: order.orderId,
    transactionHid: t.id,
    amount: t.amount,
    ...(order.reason !== undefined && { reason: order.reason }),
  };
}

/**
 * A refund that ended failed or cancelled carries its record in the failure's details. One that
 * ended without a record (refused as a duplicate, the ledger refusing a move, terminated) is reported
 * for a person with its reason; the other refunds of the order, and the subscription, go on.
 */
function recordOfFailedRefund(transactionHid: string, err: unknown): RefundRecord | NotRefunded {
  if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
    const record: unknown = err.cause.details?.[0];
    if (isRefundRecord(record)) return record as RefundRecord;
  }
  const cause = err instanceof ChildWorkflowFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
  return { transactionHid, status: 'requires_attention', reason: `its refund run ended without a refund record: ${cause}` };
}
