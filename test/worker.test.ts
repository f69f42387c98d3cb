import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { pingWorkflow } from '../src/workflows/index.js';
import { run } from './helpers/process.js';
import { useEngine } from './helpers/engine.js';

const { EventType, PendingActivityState } = temporal.api.enums.v1;

const engine = useEngine('worker-process');

describe('src/worker.ts as a process', () => {
  it('on SIGTERM lets the in-flight activity finish, then exits 0', async () => {
    const t = engine().temporal;
    const worker = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      ...process.env,
      TEMPORAL_ADDRESS: t.address,
      REFUNDS_TASK_QUEUE: t.taskQueue,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'refundflow-worker-')),
    });
    await worker.waitForOutput(new RegExp(`Worker polling task queue "${t.taskQueue}"`), 120_000);

    const handle = await t.client.workflow.start(pingWorkflow, {
      taskQueue: t.taskQueue,
      workflowId: `shutdown-${randomUUID()}`,
      args: [{ message: 'in flight', delayMs: 3_000 }],
    });
    await expect
      .poll(async () => (await handle.describe()).raw.pendingActivities?.[0]?.state, { timeout: 30_000 })
      .toBe(PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('SIGTERM: finishing in-flight work, then stopping');
    expect(worker.output()).toContain('Worker stopped');

    // The activity completed before the process left: its result is in history, not lost.
    const history = await handle.fetchHistory();
    const completed = history.events?.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    expect(completed).toBeDefined();
    expect(history.events?.some((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)).toBe(false);

    // Another worker picks the run up and finishes it with that result.
    const successor = await engine().worker();
    const result = await successor.runUntil(handle.result());
    expect(result.message).toBe('in flight');
  });
});
