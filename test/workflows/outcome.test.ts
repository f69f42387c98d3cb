import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { newWebhookSecret } from '../helpers/api.js';
import { outcomesDelivered, startOutcomeRelay, useEngine } from '../helpers/engine.js';
import { OutcomeOutbox } from '../../src/ledger/outbox.js';
import { readLedgerGauges } from '../../src/ledger/gauges.js';
import type { OutcomeRelay } from '../../src/outcomes/relay.js';
import { outcomeDeliveryId } from '../../src/activities/outcome.js';
import { recordHistory } from '../helpers/histories.js';
import { freePorts } from '../helpers/ports.js';
import { scriptedReceiver } from '../helpers/scripted-receiver.js';
import { admin } from '../helpers/sandbox.js';
import { startAccepted } from '../helpers/inbox.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';

const engine = useEngine('outcome');

async function oenRefund(amount = 1000): Promise<OenRefundRequested> {
  const transactionHid = randomHid();
  const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
  await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 1000 }] });
  return { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid, amount };
}

/** A worker, and the outcome relay sending to a receiver on `port` (started later, or not at all). */
async function outcomeWorker(port: number, secret: string) {
  const worker = await engine().worker();
  const relay = await startOutcomeRelay(engine().db, `http://127.0.0.1:${port}/outcomes`, secret);
  relays.push(relay);
  return worker;
}

const relays: OutcomeRelay[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.close();
});

/** The run's history names no delivery: no activity and no local activity of the outbox's time tells order management. */
async function toldNothingItself(workflowId: string): Promise<void> {
  const history = await engine().temporal.client.workflow.getHandle(workflowId).fetchHistory();
  const text = JSON.stringify(history.events ?? []);
  expect(text).not.toContain('deliverOutcome');
  expect(text).not.toContain('Tell order management');
}

describe('outcome events, from the outbox', () => {
  it('the receiver down for a while: the run ends at once; the event waits in the outbox, then is delivered once it is back, under one id, signed', async () => {
    const port = (await freePorts(1))[0] ?? 0;
    const secret = newWebhookSecret();
    const request = await oenRefund();
    const worker = await outcomeWorker(port, secret);
    const { client, taskQueue } = engine().temporal;
    const started = await worker.runUntil(async () => {
      const run = await startAccepted(client, taskQueue, engine().db, request);
      // The run does not wait for order management: it completes with nothing delivered.
      await client.workflow.getHandle(run.workflowId).result();
      await recordHistory('refundWorkflow.outcome-from-outbox', client.workflow.getHandle(run.workflowId));
      return run;
    });
    await toldNothingItself(started.workflowId);
    // Nothing listens: the relay's attempts fail, are noted, and the event waits (the /metrics gauge counts it).
    const webhook = async () => (await new OutcomeOutbox(engine().db).destinations()).find((d) => d.destination === 'webhook');
    await expect.poll(async () => (await webhook())?.failures ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    expect((await webhook())?.lastError).toMatch(new RegExp(`^${request.refundId}\\.succeeded\\.\\d+: .*ECONNREFUSED`));
    expect((await readLedgerGauges(engine().db)).outcomes.count).toBe(1);
    const { deliveries, server } = await scriptedReceiver(secret, { port });
    await outcomesDelivered(engine().db);
    server.close();
    expect(deliveries).toHaveLength(1);
    const [first] = deliveries;
    expect(first?.verified).toBe(true);
    expect(first?.event).toMatchObject({
      id: first?.id,
      type: 'refund.succeeded',
      source: 'refundflow',
      data: { refundId: request.refundId, status: 'succeeded', uiUrl: expect.stringContaining(`/workflows/oen-refund-${request.transactionHid}`) as unknown },
    });
    // The id the runs' own delivery gave the same outcome before the outbox: a receiver that has it sees the same id.
    const record = await engine().ledger.get(request.refundId);
    expect(first?.id).toBe(outcomeDeliveryId(record!));
  });

  it('answered 500 twice, then taken: three deliveries of one id; a failed refund is refund.failed', async () => {
    const port = (await freePorts(1))[0] ?? 0;
    const secret = newWebhookSecret();
    const { deliveries, server } = await scriptedReceiver(secret, { port, answers: [500, 503] });
    const request = await oenRefund(99); // the sandbox's testing rule: under NT$100 fails (T0001)
    const worker = await outcomeWorker(port, secret);
    const { client, taskQueue } = engine().temporal;
    const failure: unknown = await worker.runUntil(async () => {
      const started = await startAccepted(client, taskQueue, engine().db, request);
      return client.workflow
        .getHandle(started.workflowId)
        .result()
        .then((): unknown => 'completed')
        .catch((err: unknown) => err);
    });
    await outcomesDelivered(engine().db);
    server.close();
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(deliveries).toHaveLength(3);
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(1);
    expect(deliveries.every((d) => d.verified)).toBe(true);
    expect(deliveries[0]?.event).toMatchObject({ type: 'refund.failed', data: { refundId: request.refundId, status: 'failed' } });
  });
});

describe('Temporal’s own Cancel loses nothing, and every end is told', () => {
  it('a Cancel request while the refund waits for approval ends it cancelled, nothing sent, and refund.cancelled is told', async () => {
    const port = (await freePorts(1))[0] ?? 0;
    const secret = newWebhookSecret();
    const { deliveries, server } = await scriptedReceiver(secret, { port });
    const request = await oenRefund();
    const worker = await engine().worker({ APPROVAL_THRESHOLD: '1' });
    relays.push(await startOutcomeRelay(engine().db, `http://127.0.0.1:${port}/outcomes`, secret));
    const { client, taskQueue } = engine().temporal;
    const failure: unknown = await worker.runUntil(async () => {
      const started = await startAccepted(client, taskQueue, engine().db, request);
      const handle = client.workflow.getHandle(started.workflowId);
      await expect.poll(async () => (await engine().ledger.get(request.refundId))?.status, { timeout: 30_000 }).toBe('awaiting_approval');
      await handle.cancel();
      const ended: unknown = await handle.result().catch((err: unknown) => err);
      await recordHistory('refundWorkflow.cancel-requested', handle);
      return ended;
    });
    await outcomesDelivered(engine().db);
    server.close();
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'RefundCancelled' });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({
      status: 'cancelled',
      error: { code: 'CancelRequested', message: expect.stringContaining('through Temporal (a workflow Cancel request), person unknown') as unknown },
    });
    // The audit trail has it once, as done through Temporal by a person unknown, naming the run.
    const { entries } = await new AuditTrail(engine().db).list({ refundId: request.refundId, limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { id: 'temporal', name: 'through Temporal, person unknown' },
        action: 'refund.cancel',
        outcome: 'done',
        statusAfter: 'cancelled',
        detail: expect.objectContaining({ workflowId: refundWorkflowId(request), runId: expect.any(String) as unknown }) as unknown,
      }),
    ]);
    expect(deliveries.map((d) => [d.event.type, d.event.data.status, d.verified])).toEqual([['refund.cancelled', 'cancelled', true]]);
    const { requests } = await admin<{ requests: Array<{ reference: string }> }>(engine().sandboxes.oenUrl, 'GET', 'refund-requests');
    expect(requests.filter((r) => r.reference === request.transactionHid)).toEqual([]);
  });

  it('a Cancel request while the refund is being sent is not obeyed: the run settles the refund and tells it', async () => {
    const port = (await freePorts(1))[0] ?? 0;
    const secret = newWebhookSecret();
    const { deliveries, server } = await scriptedReceiver(secret, { port });
    const request = await oenRefund();
    // The refund answer takes 3 s: the Cancel arrives while it is in flight.
    await admin(engine().sandboxes.oenUrl, 'PATCH', 'faults', { [`refund@${request.transactionHid}`]: { latencyMs: 3_000 } });
    const worker = await outcomeWorker(port, secret);
    const { client, taskQueue } = engine().temporal;
    const result: unknown = await worker.runUntil(async () => {
      const started = await startAccepted(client, taskQueue, engine().db, request);
      const handle = client.workflow.getHandle(started.workflowId);
      await expect
        .poll(
          async () =>
            (await admin<{ requests: Array<{ reference: string }> }>(engine().sandboxes.oenUrl, 'GET', 'refund-requests')).requests.some(
              (r) => r.reference === request.transactionHid,
            ),
          {
            timeout: 30_000,
            interval: 100,
          },
        )
        .toBe(true);
      await handle.cancel();
      return (await handle.result()) as unknown;
    });
    await outcomesDelivered(engine().db);
    server.close();
    expect(result).toMatchObject({ refundId: request.refundId, status: 'succeeded' });
    const { entries } = await new AuditTrail(engine().db).list({ refundId: request.refundId, limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { id: 'temporal', name: 'through Temporal, person unknown' },
        action: 'refund.cancel',
        outcome: 'refused',
        statusBefore: 'submitting',
        statusAfter: 'succeeded',
        detail: expect.objectContaining({ workflowId: refundWorkflowId(request) }) as unknown,
      }),
    ]);
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'succeeded' });
    expect(deliveries.map((d) => d.event.type)).toEqual(['refund.succeeded']);
  });
});
