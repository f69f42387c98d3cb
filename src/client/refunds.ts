import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { refundRequested, type RefundRequested } from '../domain/schemas/refund-request.js';
import { refundStartOptions } from '../domain/refund-start.js';
import type { refundWorkflow } from '../workflows/refund.js';

export type StartRefundResult =
  | { kind: 'started'; workflowId: string; runId: string }
  /** The same refund id already has a run for it (running or finished): nothing new was started. */
  | { kind: 'duplicate'; workflowId: string; runStatus: string }
  /** Another refund id owns this Oen transaction: one refund per transaction, ever. */
  | { kind: 'refused'; workflowId: string; existingRefundId: string; reason: string };

/**
 * Starts the refund's run (see refundStartOptions). Where Temporal refuses a second run for the
 * id, the answer says what the existing run is for.
 */
export async function startRefund(client: Client, taskQueue: string, input: RefundRequested): Promise<StartRefundResult> {
  const request = refundRequested.parse(input);
  const options = refundStartOptions(request);
  const { workflowId } = options;
  try {
    const handle = await client.workflow.start<typeof refundWorkflow>('refundWorkflow', { ...options, taskQueue, args: [request] });
    return { kind: 'started', workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const existing = await client.workflow.getHandle(workflowId).describe();
    const runStatus = existing.status.name;
    // An MWD run's id is its refund id: the run there is this refund's.
    if (request.provider === 'mwd') return { kind: 'duplicate', workflowId, runStatus };
    const memoRefundId = existing.memo?.refundId;
    if (memoRefundId === request.refundId) return { kind: 'duplicate', workflowId, runStatus };
    const owner = typeof memoRefundId === 'string' ? `refund ${memoRefundId}` : 'a run started outside refundflow (no refund id in its memo)';
    return {
      kind: 'refused',
      workflowId,
      existingRefundId: typeof memoRefundId === 'string' ? memoRefundId : 'unknown',
      reason:
        `Oen transaction ${request.transactionHid} already has ${owner} (its run ${workflowId} is ${runStatus.toLowerCase()}); ` +
        'Oen allows one refund per transaction',
    };
  }
}
