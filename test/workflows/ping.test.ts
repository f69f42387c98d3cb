import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { refundSearchAttributes } from '../../src/domain/search-attributes.js';
import { pingWorkflow } from '../../src/workflows/index.js';
import { useEngine } from '../helpers/engine.js';
import { recordHistory } from '../helpers/histories.js';

const { EventType, IndexedValueType } = temporal.api.enums.v1;

const engine = useEngine('ping');

describe('pingWorkflow on the real dev server', () => {
  it('runs its activity on a real worker and returns what the activity answered', async () => {
    const t = engine().temporal;
    const worker = await engine().worker();
    const workflowId = `ping-${randomUUID()}`;

    const { result, history } = await worker.runUntil(async () => {
      const handle = await t.client.workflow.start(pingWorkflow, {
        taskQueue: t.taskQueue,
        workflowId,
        args: [{ message: 'hello' }],
      });
      const done = await handle.result();
      await recordHistory('pingWorkflow.hello', handle);
      return { result: done, history: await handle.fetchHistory() };
    });

    expect(result.message).toBe('hello');
    expect(Number.isNaN(Date.parse(result.answeredAt))).toBe(false);

    const events = history.events ?? [];
    const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    expect(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name).toBe('ping');
    expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toBe(true);
    expect(events.at(-1)?.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  });

  it('rejects input its schema refuses, as a workflow failure rather than a hang', async () => {
    const t = engine().temporal;
    const worker = await engine().worker();
    const outcome = await worker.runUntil(
      t.client.workflow
        .execute(pingWorkflow, {
          taskQueue: t.taskQueue,
          workflowId: `ping-bad-${randomUUID()}`,
          args: [{ message: 'x', delayMs: -5 }],
          workflowExecutionTimeout: '30 seconds',
        })
        .then(
          () => 'completed',
          (err: unknown) => err,
        ),
    );
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error & { cause?: unknown }).cause)).toMatch(/delayMs/);
  });
});

describe('the dev server the suite runs on', () => {
  it('has the refund search attributes registered with their types', async () => {
    const t = engine().temporal;
    const { customAttributes } = await t.client.connection.operatorService.listSearchAttributes({
      namespace: t.config.TEMPORAL_NAMESPACE,
    });
    const registered = Object.fromEntries(Object.entries(customAttributes ?? {}));
    expect(registered).toMatchObject({
      RefundStatus: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      RefundProvider: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      OrderId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      TransactionHid: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      RefundAmount: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    });
    expect(refundSearchAttributes.map((key) => key.name).sort()).toEqual(['OrderId', 'RefundAmount', 'RefundProvider', 'RefundStatus', 'TransactionHid']);
  });
});
