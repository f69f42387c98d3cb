import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { refundRequested, type RefundRequested } from '../domain/schemas/refund-request.js';
import { mayFollowRun, oneRefundPerTransaction, refundStartOptions, type MayFollow } from '../domain/refund-start.js';
import type { refundWorkflow } from '../workflows/refund.js';

export type StartRefundResult =
  | { kind: 'started'; workflowId: string; runId: string }
  /** The same refund id already has a run for it (running or finished): nothing new was started. */
  | { kind: 'duplicate'; workflowId: string; runStatus: string }
  /** Another refund id owns this Oen transaction: one refund per transaction, ever. */
  | { kind: 'refused'; workflowId: string; existingRefundId: string; reason: string };

export type { MayFollow } from '../domain/refund-start.js';

/**
 * Starts the refund's run (see refundStartOptions). Where Temporal refuses a second run for the
 * id, the answer says what the existing run is for. A completed run of another refund of the same
 * Oen transaction is followed only when `mayFollow` says the ledger closed that refund without a
 * refund (failed, cancelled, or resolved failed): Temporal's reuse policy alone would refuse it for as
 * long as the old run's history is kept, and a failed refund may be asked again (rule 6).
 */
export async function startRefund(client: Client, taskQueue: string, input: RefundRequested, mayFollow?: MayFollow): Promise<StartRefundResult> {
  const request = refundRequested.parse(input);
  const options = refundStartOptions(request);
  const { workflowId } = options;
  const start = async (reuse: WorkflowIdReusePolicy = options.workflowIdReusePolicy) => {
    const handle = await client.workflow.start<typeof refundWorkflow>('refundWorkflow', {
      ...options,
      workflowIdReusePolicy: reuse,
      taskQueue,
      args: [request],
    });
    return { kind: 'started' as const, workflowId, runId: handle.firstExecutionRunId };
  };
  try {
    return await start();
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const existing = await client.workflow.getHandle(workflowId).describe();
  const runStatus = existing.status.name;
  // An MWD run's id is its refund id: the run there is this refund's.
  if (request.provider === 'mwd') return { kind: 'duplicate', workflowId, runStatus };
  const memoRefundId = existing.memo?.refundId;
  if (memoRefundId === request.refundId) return { kind: 'duplicate', workflowId, runStatus };
  if (mayFollow && (await mayFollowRun({ status: runStatus, memo: existing.memo }, request, mayFollow))) {
    try {
      // Only a closed run is followed: with the conflict policy FAIL, a run opened meanwhile refuses this start.
      return await start(WorkflowIdReusePolicy.ALLOW_DUPLICATE);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return startRefund(client, taskQueue, request);
    }
  }
  const owner = typeof memoRefundId === 'string' ? `refund ${memoRefundId}` : 'a run started outside refundflow (no refund id in its memo)';
  return {
    kind: 'refused',
    workflowId,
    existingRefundId: typeof memoRefundId === 'string' ? memoRefundId : 'unknown',
    reason: oneRefundPerTransaction(request.transactionHid, `${owner} (its run ${workflowId} is ${runStatus.toLowerCase()})`),
  };
}
