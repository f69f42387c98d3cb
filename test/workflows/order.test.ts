import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { randomHid } from '../../src/providers/oen/hid.js';
import { cancelSubscriptionWorkflow, refundOrderWorkflow } from '../../src/workflows/index.js';
import { orderWorkflowId, subscriptionWorkflowId } from '../../src/domain/refund-start.js';
import type { OrderCancelled, SubscriptionCancelled } from '../../src/domain/schemas/order-events.js';
import { outcomesDelivered, startOutcomeRelay, useEngine } from '../helpers/engine.js';
import { accepted } from '../helpers/inbox.js';
import { recordHistory } from '../helpers/histories.js';
import { admin, sandboxRefunds } from '../helpers/sandbox.js';
import { SubscriptionLedger } from '../../src/ledger/subscriptions.js';
import { OutcomeReceiver } from '../chaos/processes.js';
import { newWebhookSecret } from '../helpers/api.js';

const engine = useEngine('order');

/**
 * Runs an order.cancelled accepted as the intake accepts it, under the workflow id the intake gives it
 * (again, once an earlier run of it completed, as re-running it by hand would).
 */
function cancelOrder(data: OrderCancelled, taskQueue = engine().temporal.taskQueue) {
  return accepted(engine().db, 'order.cancelled', data).then(() =>
    engine().temporal.client.workflow.start(refundOrderWorkflow, {
      taskQueue,
      workflowId: orderWorkflowId(data.orderId),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      args: [data],
    }),
  );
}

/** The same for a subscription.cancelled. */
function cancelSubscription(data: SubscriptionCancelled) {
  return accepted(engine().db, 'subscription.cancelled', data).then(() =>
    engine().temporal.client.workflow.start(cancelSubscriptionWorkflow, {
      taskQueue: engine().temporal.taskQueue,
      workflowId: subscriptionWorkflowId(data.subscriptionId),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      args: [data],
    }),
  );
}

describe('refundOrderWorkflow (order.cancelled)', () => {
  it('a run started by hand with data its schema refuses fails InvalidInput before it lists, refunds or writes anything', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const card = randomHid();
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: card, orderId, amount: 900 }] });
    const { client, taskQueue } = engine().temporal;
    const worker = await engine().worker();
    const started = (workflowId: string, args: unknown[]) =>
      client.workflow.execute(refundOrderWorkflow, { taskQueue, workflowId, args: args as [never] }).then(
        () => undefined,
        (err: unknown) => err,
      );
    const [tooLong, unknownKey, subscription] = await worker.runUntil(() =>
      Promise.all([
        started(`order-bad-${orderId}`, [{ orderId, provider: 'oen', reason: 'x'.repeat(501) }]),
        started(`order-bad2-${orderId}`, [{ orderId, provider: 'oen', note: 'hi' }]),
        client.workflow
          .execute(cancelSubscriptionWorkflow, {
            taskQueue,
            workflowId: `sub-bad-${orderId}`,
            args: [{ provider: 'oen', subscriptionId: 'S1', reason: 'x'.repeat(501) }],
          })
          .then(
            () => undefined,
            (err: unknown) => err,
          ),
      ]),
    );
    for (const [err, field] of [
      [tooLong, /reason: must be at most 500 characters/],
      [unknownKey, /note/],
      [subscription, /reason: must be at most 500/],
    ] as const) {
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { cause?: { type?: string; message?: string } } | undefined;
      const failure = cause?.cause ?? (cause as { type?: string; message?: string });
      expect(failure).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(field) as unknown });
    }
    expect((await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.orderId === orderId)).toEqual([]);
    expect(await engine().ledger.list({ orderId, limit: 10 })).toEqual({ refunds: [] });
  });

  it('refunds each charged card transaction in full, reports ATM/CVS for a person, cancels the subscription', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const [card1, card2, atm, refunded] = [randomHid(), randomHid(), randomHid(), randomHid()];
    const subscriptionId = `S${randomUUID().slice(0, 12)}`;
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', {
      transactions: [
        { id: card1, orderId, amount: 1200 },
        { id: card2, orderId, amount: 300 },
        { id: atm, orderId, amount: 500, method: 'atm' },
        { id: refunded, orderId, amount: 700, status: 'refunded', refundAmount: 700 },
      ],
      subscriptions: [{ id: subscriptionId }],
    });
    const worker = await engine().worker();

    const result = await worker.runUntil(async () => {
      const handle = await cancelOrder({ orderId, provider: 'oen', reason: '訂單取消', subscriptionId });
      const done = await handle.result();
      await recordHistory('refundOrderWorkflow.cards-atm-subscription', handle);
      return done;
    });

    expect(result.refunds.map((r) => [r.refundId, r.status, r.amount]).sort()).toEqual(
      [
        [`${orderId}:${card1}`, 'succeeded', 1200],
        [`${orderId}:${card2}`, 'succeeded', 300],
      ].sort(),
    );
    expect(result.notRefunded).toEqual(
      expect.arrayContaining([
        { transactionHid: atm, status: 'requires_attention', reason: expect.stringMatching(/ATM\/CVS/) as unknown },
        { transactionHid: refunded, status: 'skipped', reason: 'not charged (Oen shows "refunded")' },
      ]),
    );
    expect(result.subscription).toEqual({ id: subscriptionId, status: 'cancelled' });
    const atOen = (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.orderId === orderId);
    expect(atOen.map((r) => r.reference).sort()).toEqual([card1, card2].sort());

    // The same cancellation again refunds nothing more.
    const again = await (await engine().worker()).runUntil(async () => (await cancelOrder({ orderId, provider: 'oen' })).result());
    expect(again.refunds).toEqual([]);
    expect((await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.orderId === orderId)).toHaveLength(2);
  });

  it('a refund run that ends without a record is reported for a person; the rest of the order goes on', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const [held, free] = [randomHid(), randomHid()];
    const subscriptionId = `S${randomUUID().slice(0, 12)}`;
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', {
      transactions: [
        { id: held, orderId, amount: 400 },
        { id: free, orderId, amount: 600 },
      ],
      subscriptions: [{ id: subscriptionId }],
    });
    // The ledger already holds a live refund of `held` under another refund id, whose run is long
    // gone from Temporal: the child for `held` is refused by the ledger, without a refund record.
    await engine().ledger.open({ refundId: 'RF-OLDER', provider: 'oen', orderId, transactionHid: held, amount: 400 }, 'wf-gone');

    const result = await (await engine().worker()).runUntil(async () => (await cancelOrder({ orderId, provider: 'oen', subscriptionId })).result());

    expect(result.refunds.map((r) => [r.refundId, r.status])).toEqual([[`${orderId}:${free}`, 'succeeded']]);
    expect(result.notRefunded).toEqual([
      {
        transactionHid: held,
        status: 'requires_attention',
        reason: expect.stringMatching(/ended without a refund record: Refused: Oen transaction .* already has refund RF-OLDER/) as unknown,
      },
    ]);
    expect(result.subscription).toEqual({ id: subscriptionId, status: 'cancelled' });
    const atOen = (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.orderId === orderId);
    expect(atOen.map((r) => r.reference)).toEqual([free]);
  });

  it('what it cannot do is written to the ledger for a person, with its outcome event, once', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const [card, cvs] = [randomHid(), randomHid()];
    const unknownSubscription = `S-NONE-${randomUUID().slice(0, 8)}`;
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', {
      transactions: [
        { id: card, orderId, amount: 800 },
        { id: cvs, orderId, amount: 450, method: 'cvs' },
      ],
    });
    const secret = newWebhookSecret();
    const receiver = new OutcomeReceiver(secret, 0, Math.random);
    await receiver.start();
    // The outcome events are the ledger's; the relay (the API's) sends them.
    const relay = await startOutcomeRelay(engine().db, receiver.url, secret);
    try {
      const cancel = async () => (await cancelOrder({ orderId, provider: 'oen', subscriptionId: unknownSubscription })).result();
      const result = await (
        await engine().worker()
      ).runUntil(async () => {
        const done = await cancel();
        await recordHistory('refundOrderWorkflow.exceptions-kept', engine().temporal.client.workflow.getHandle(orderWorkflowId(orderId)));
        return done;
      });
      expect(result.subscription).toMatchObject({ id: unknownSubscription, status: 'requires_attention' });

      expect(await engine().ledger.get(`${orderId}:${cvs}`)).toMatchObject({
        status: 'requires_attention',
        amount: 450,
        transactionHid: cvs,
        error: { code: 'NotRefundedByOrder', message: expect.stringMatching(/paid by cvs: ATM\/CVS payments must be refunded by a person/) as unknown },
      });
      const [kept] = await new SubscriptionLedger(engine().db).unconfirmed(100).then((all) => all.filter((c) => c.subscriptionId === unknownSubscription));
      expect(kept).toMatchObject({
        orderId,
        workflowId: orderWorkflowId(orderId),
        reason: expect.stringMatching(/^not cancelled: Oen: bad request · code V0001/) as unknown,
      });

      const told = () => receiver.bodies.map((b) => JSON.parse(b) as { type: string; data: { refundId?: string; subscriptionId?: string } });
      await expect
        .poll(
          () =>
            told()
              .filter((e) => e.data.refundId?.startsWith(orderId) || e.data.subscriptionId === unknownSubscription)
              .map((e) => e.type)
              .sort(),
          { timeout: 30_000 },
        )
        .toEqual(['refund.requires_attention', 'refund.succeeded', 'subscription.requires_attention']);

      // The same cancellation again: nothing new is written, and nothing told twice.
      await (await engine().worker()).runUntil(cancel());
      await outcomesDelivered(engine().db);
      expect(told().filter((e) => e.data.refundId === `${orderId}:${cvs}` || e.data.subscriptionId === unknownSubscription)).toHaveLength(2);
    } finally {
      await relay.close();
      await receiver.close();
    }
  });

  it('refuses input that is not an Oen order cancellation', async () => {
    const { client, taskQueue } = engine().temporal;
    const worker = await engine().worker();
    const failure = await worker.runUntil(
      client.workflow
        .execute(refundOrderWorkflow, {
          taskQueue,
          workflowId: `order-bad-${randomUUID()}`,
          args: [{ orderId: 'X', provider: 'mwd' } as never],
        })
        .catch((err: unknown) => err),
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toMatch(/provider: must be "oen"/);
  });
});

describe('cancelSubscriptionWorkflow (subscription.cancelled)', () => {
  it('cancels the subscription, and fails with the provider code for an unknown one', async () => {
    const subscriptionId = `S${randomUUID().slice(0, 12)}`;
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { subscriptions: [{ id: subscriptionId }] });
    const worker = await engine().worker();
    await worker.runUntil(async () => {
      const handle = await cancelSubscription({ provider: 'oen', subscriptionId, reason: '客戶自行取消' });
      const cancelled = await handle.result();
      await recordHistory('cancelSubscriptionWorkflow.cancelled', handle);
      expect(cancelled).toMatchObject({ id: subscriptionId, status: 'cancelled', reason: '客戶自行取消' });

      const unknown = await cancelSubscription({ provider: 'oen', subscriptionId: `S-NOPE-${randomUUID().slice(0, 8)}` })
        .then(async (handle) => handle.result())
        .catch((err: unknown) => err);
      expect(unknown).toBeInstanceOf(WorkflowFailedError);
      expect(JSON.stringify((unknown as WorkflowFailedError).cause)).toContain('OenV0001');
    });
  });

  it('a cancel whose answer was lost, then V0002 on the resend: said plainly for a person, not called a failure of Oen', async () => {
    const subscriptionId = `S${randomUUID().slice(0, 12)}`;
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { subscriptions: [{ id: subscriptionId }] });
    await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', { cancelSubscription: { next: ['commitThenDrop'] } });
    const failure = await (
      await engine().worker()
    ).runUntil(
      cancelSubscription({ provider: 'oen', subscriptionId })
        .then(async (handle) => handle.result())
        .catch((err: unknown) => err),
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.cause).toMatchObject({
      type: 'OenSubscriptionUnconfirmed',
      message: expect.stringMatching(/earlier attempt got no answer: that attempt most likely cancelled it/) as unknown,
    });
  });
});
