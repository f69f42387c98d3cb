import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { pingWorkflow } from '../src/workflows/index.js';
import { startRefund } from '../src/client/refunds.js';
import { throughInboxAt } from './helpers/inbox.js';
import { randomHid } from '../src/providers/oen/hid.js';
import { sample } from './helpers/metrics-text.js';
import { freePorts } from './helpers/ports.js';
import { run } from './helpers/process.js';
import { admin } from './helpers/sandbox.js';
import { sandboxProviderEnv, useEngine } from './helpers/engine.js';

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
      METRICS_ADDRESS: 'off',
    });
    await worker.waitForOutput(new RegExp(`Worker polling task queue ${t.taskQueue} `), 120_000);

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
  }, 180_000);

  it("serves /metrics: the SDK's, and ours (refunds by provider and status, provider call latency, retries by error type)", async () => {
    const { temporal: t, sandboxes } = engine();
    const [metricsPort] = await freePorts(1);
    const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-worker-'));
    const transactionHid = randomHid();
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    await admin(sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 1000 }] });
    const request = { refundId: `RF-${randomUUID()}`, provider: 'oen' as const, orderId, transactionHid, amount: 1000 };
    // Accepted before the worker process opens its embedded ledger (one process's at a time).
    await throughInboxAt(dataDir, request);
    const worker = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      ...process.env,
      TEMPORAL_ADDRESS: t.address,
      REFUNDS_TASK_QUEUE: t.taskQueue,
      DATA_DIR: dataDir,
      METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      ...sandboxProviderEnv(sandboxes),
    });
    try {
      await worker.waitForOutput(new RegExp(`metrics: http://127.0.0.1:${metricsPort}/metrics`), 120_000);
      // Oen answers F0001 (system error, retried) once before it refunds.
      await admin(sandboxes.oenUrl, 'PUT', 'faults', { refund: { next: ['f0001'] } });
      const started = await startRefund(t.client, t.taskQueue, request);
      if (started.kind !== 'started') throw new Error(JSON.stringify(started));
      expect(await t.client.workflow.getHandle(started.workflowId).result()).toMatchObject({ status: 'succeeded', attempts: 2 });

      const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // The exporter reads the meter on scrape; the last activity's numbers can lag it by a moment.
      await expect.poll(async () => sample(await scrape(), 'refundflow_refunds_total', { provider: 'oen', status: 'succeeded' }), { timeout: 10_000 }).toBe(1);
      const text = await scrape();

      expect(sample(text, 'refundflow_refunds_total', { provider: 'oen', status: 'submitting' })).toBe(1);
      expect(sample(text, 'refundflow_activity_retries_total', { activity: 'submitOenRefund', error_type: 'OenF0001' })).toBe(1);
      // Two refund calls, the first answered F0001 (with HTTP 500), and the list calls around them, each timed.
      expect(sample(text, 'refundflow_provider_call_latency_count', { provider: 'oen', operation: 'refund', outcome: '500' })).toBe(1);
      expect(sample(text, 'refundflow_provider_call_latency_count', { provider: 'oen', operation: 'refund', outcome: '200' })).toBe(1);
      expect(
        sample(text, 'refundflow_provider_call_latency_count', { provider: 'oen', operation: 'list_transactions', outcome: '200' }),
      ).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/^refundflow_provider_call_latency_bucket\{.*le="/m);
      // And the SDK's own, from the same endpoint.
      expect(text).toMatch(/^temporal_activity_execution_latency_count\{/m);
      expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  }, 180_000);
});
