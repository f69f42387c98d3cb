import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { reconcileScheduleId } from '../domain/reconcile.js';
import type { reconcileWorkflow } from '../workflows/reconcile.js';

export interface ReconcileScheduleOptions {
  taskQueue: string;
  intervalSeconds: number;
}

export type ScheduleInstall = { kind: 'created' | 'updated'; scheduleId: string; intervalSeconds: number };

/**
 * The Temporal Schedule that runs reconcileWorkflow every `intervalSeconds` (RECONCILE_INTERVAL_SECONDS),
 * one per task queue (`reconcileScheduleId`).
 * One run at a time: a run still going when the next is due makes the schedule skip that one. Its
 * runs share one workflow id, so the Web UI shows them as one history of runs. Installing again
 * updates the interval and task queue in place; the schedule's pause state and history stay.
 */
export async function installReconcileSchedule(client: Client, options: ReconcileScheduleOptions): Promise<ScheduleInstall> {
  const scheduleId = reconcileScheduleId(options.taskQueue);
  const spec = { intervals: [{ every: `${options.intervalSeconds}s` }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof reconcileWorkflow> = {
    type: 'startWorkflow',
    workflowType: 'reconcileWorkflow',
    workflowId: scheduleId,
    taskQueue: options.taskQueue,
    args: [{}],
  };
  const result = { scheduleId, intervalSeconds: options.intervalSeconds };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      memo: { purpose: 'refundflow reconciliation (docs/reconciliation.md)' },
    });
    return { kind: 'created', ...result };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec,
      action,
      policies: { ...previous.policies, overlap: ScheduleOverlapPolicy.SKIP },
    }));
    return { kind: 'updated', ...result };
  }
}
