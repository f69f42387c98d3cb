import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { refundRequested, refundSummary, refundWorkflowId, type RefundRequested } from '../domain/refund.js';
import { OrderId, RefundAmount, RefundProvider, RefundStatus, TransactionHid } from '../domain/search-attributes.js';
import type { refundWorkflow } from '../workflows/refund.js';

export type StartRefundResult =
  | { kind: 'started'; workflowId: string; runId: string }
  /** The same refund id already has a run for it (running or finished): nothing new was started. */
  | { kind: 'duplicate'; workflowId: string; runStatus: string }
  /** Another refund id owns this Oen transaction: one refund per transaction, ever. */
  | { kind: 'refused'; workflowId: string; existingRefundId: string; reason: string };

/**
 * Starts the refund's run under its deterministic workflow id. Temporal refuses a second run for
 * the id while one is open or after one succeeded, and allows a new one after a failed one; a
 * refusal is answered by what the existing run is for.
 */
export async function startRefund(client: Client, taskQueue: string, input: RefundRequested): Promise<StartRefundResult> {
  const request = refundRequested.parse(input);
  const workflowId = refundWorkflowId(request);
  try {
    const handle = await client.workflow.start<typeof refundWorkflow>('refundWorkflow', {
      taskQueue,
      workflowId,
      args: [request],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      memo: { refundId: request.refundId },
      staticSummary: refundSummary(request),
      // Filterable from the first moment; the run keeps RefundStatus current.
      typedSearchAttributes: [
        { key: RefundStatus, value: 'received' },
        { key: RefundProvider, value: request.provider },
        { key: OrderId, value: request.orderId },
        { key: RefundAmount, value: request.amount },
        ...(request.provider === 'oen' ? [{ key: TransactionHid, value: request.transactionHid }] : []),
      ],
    });
    return { kind: 'started', workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const existing = await client.workflow.getHandle(workflowId).describe();
    const memoRefundId = existing.memo?.refundId;
    const existingRefundId = typeof memoRefundId === 'string' ? memoRefundId : 'unknown';
    if (existingRefundId === request.refundId) return { kind: 'duplicate', workflowId, runStatus: existing.status.name };
    return {
      kind: 'refused',
      workflowId,
      existingRefundId,
      reason:
        `Oen transaction ${request.provider === 'oen' ? request.transactionHid : ''} already has refund ${existingRefundId} ` +
        `(its run is ${existing.status.name.toLowerCase()}); Oen allows one refund per transaction`,
    };
  }
}
