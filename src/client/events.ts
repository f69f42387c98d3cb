import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { InboundEvent } from '../domain/schemas/events.js';
import { orderWorkflowId, refundWorkflowId, subscriptionWorkflowId } from '../domain/refund-start.js';
import type { cancelSubscriptionWorkflow } from '../workflows/cancel-subscription.js';
import type { refundOrderWorkflow } from '../workflows/refund-order.js';
import { startRefund, type MayFollow } from './refunds.js';

export type EventStart =
  | { kind: 'started' | 'duplicate'; workflowId: string }
  /** For good: another refund owns the Oen transaction. */
  | { kind: 'refused'; workflowId: string; reason: string; existingRefundId: string };

/** The run an event starts; deterministic, so a retried start finds the run the first one made. */
export function eventWorkflowId(event: InboundEvent): string {
  switch (event.type) {
    case 'refund.requested':
      return refundWorkflowId(event.data);
    case 'order.cancelled':
      return orderWorkflowId(event.data.orderId);
    case 'subscription.cancelled':
      return subscriptionWorkflowId(event.data.subscriptionId);
  }
}

/**
 * Starts the event's workflow. Starting again is safe: a run already there for the same thing is
 * `duplicate`. Like refunds, an order or subscription run may be started again only after it failed;
 * a refund also after an earlier refund of its Oen transaction that `mayFollow` (see startRefund).
 */
export async function startEventWorkflow(client: Client, taskQueue: string, event: InboundEvent, mayFollow?: MayFollow): Promise<EventStart> {
  if (event.type === 'refund.requested') {
    const started = await startRefund(client, taskQueue, event.data, mayFollow);
    if (started.kind === 'refused') return started;
    return { kind: started.kind, workflowId: started.workflowId };
  }
  const workflowId = eventWorkflowId(event);
  const options = {
    taskQueue,
    workflowId,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    memo: { eventId: event.id },
  };
  try {
    if (event.type === 'order.cancelled') {
      await client.workflow.start<typeof refundOrderWorkflow>('refundOrderWorkflow', {
        ...options,
        args: [event.data],
        staticSummary: `Cancel order ${event.data.orderId} · refund its card payments`,
      });
    } else {
      await client.workflow.start<typeof cancelSubscriptionWorkflow>('cancelSubscriptionWorkflow', {
        ...options,
        args: [event.data],
        staticSummary: `Cancel subscription ${event.data.subscriptionId}`,
      });
    }
    return { kind: 'started', workflowId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'duplicate', workflowId };
    throw err;
  }
}
