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
 * One run at a time: a run still going when the next is due makes the schedule skip that one. The
 * action's `workflowId` is the schedule's id, to which Temporal appends the time each run is for,
 * so every run is a workflow of its own (`refundflow-reconcile-2026-11-29T08:15:00Z`, the `workflowId`
 * of its report); the schedule's page in the Web UI lists its recent runs. Installing again updates
 * the interval and task queue in place; the schedule's pause state and history stay.
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
