import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderRefundId } from '../../src/domain/order.js';
import { orderWorkflowId, refundWorkflowId, subscriptionWorkflowId } from '../../src/domain/refund-start.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { notRequestedAction, RequestGate } from '../../src/ledger/acceptance.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import type { Database } from '../../src/ledger/database.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { readLedgerGauges } from '../../src/ledger/gauges.js';
import { freshDatabase, ledgerKinds } from '../helpers/databases.js';
import { accepted } from '../helpers/inbox.js';

const kinds = await ledgerKinds();

let n = 0;
/** A fresh Oen refund request: its own refund id, order and transaction. */
function oenRefund(overrides: Partial<OenRefundRequested> = {}): OenRefundRequested {
  n += 1;
  return { refundId: `RF-G${n}`, provider: 'oen', orderId: `ORDER-G${n}`, transactionHid: `P2026120600000G${n}`, amount: 1000, ...overrides };
}

/** The run the intake would start for it. */
const runOf = (workflowId: string, parentWorkflowId?: string) => ({ workflowId, runId: `run-${workflowId}`, parentWorkflowId });

/**
 * The request gate (src/ledger/acceptance.ts) on each kind of ledger: what lets a run on and what
 * stops it, each stop written to the audit trail and counted. test/doors/temporal-start.test.ts shows
 * the same through Temporal, a worker and an API process.
 */
describe.each(kinds)('the request gate on %s', (kind) => {
  let db: Database;
  let gate: RequestGate;

  beforeAll(async () => {
    db = await freshDatabase(kind);
    gate = new RequestGate(db);
  });
  afterAll(async () => {
    await db.close();
  });

  const stoppedRows = async () => (await new AuditTrail(db).list({ actor: 'temporal', limit: 1000 })).entries.filter((e) => e.action === notRequestedAction);

  it('lets on a refund the intake accepted, under the workflow id the intake gives it, with the same contents in any key order', async () => {
    const request = oenRefund({ reason: '客戶取消訂單' });
    const eventId = await accepted(db, 'refund.requested', request);
    const reordered = Object.fromEntries(Object.entries(request).reverse()) as OenRefundRequested;
    expect(await gate.refund(reordered, runOf(refundWorkflowId(request)))).toEqual({ accepted: { eventId } });
  });

  it.each([
    ['a refund never accepted', () => Promise.resolve({ request: oenRefund(), why: /accepted no request for refund RF-G\d+/ })],
    [
      'another amount than accepted',
      async () => {
        const request = oenRefund();
        await accepted(db, 'refund.requested', request);
        return { request: { ...request, amount: 999 }, why: /was accepted with other contents/ };
      },
    ],
    [
      'a reason added to what was accepted',
      async () => {
        const request = oenRefund();
        await accepted(db, 'refund.requested', request);
        return { request: { ...request, reason: 'added' }, why: /was accepted with other contents/ };
      },
    ],
    [
      'an accepted event whose start the intake refused (another refund owns the transaction)',
      async () => {
        const request = oenRefund();
        const eventId = await accepted(db, 'refund.requested', request);
        await new EventInbox(db).markRefused(eventId, 'taken', { statusCode: 409, body: {} });
        return { request, why: /accepted no request/ };
      },
    ],
  ] as const)('stops %s, audits and counts it', async (_name, make) => {
    const { request, why } = await make();
    const before = (await readLedgerGauges(db)).notRequestedRuns;
    const answer = await gate.refund(request, runOf(refundWorkflowId(request)));
    expect(answer).toEqual({ notRequested: expect.stringMatching(why) as unknown });
    expect('notRequested' in answer && answer.notRequested).toContain(refundWorkflowId(request));
    expect((await stoppedRows()).at(-1)).toMatchObject({
      actor: { id: 'temporal', name: 'through Temporal, person unknown' },
      refundId: request.refundId,
      outcome: 'refused',
      detail: { workflowType: 'refundWorkflow', workflowId: refundWorkflowId(request), runId: `run-${refundWorkflowId(request)}` },
    });
    expect((await readLedgerGauges(db)).notRequestedRuns).toBe(before + 1);
  });

  it('stops an accepted refund run under another workflow id', async () => {
    const request = oenRefund();
    await accepted(db, 'refund.requested', request);
    expect(await gate.refund(request, runOf('by-hand-1'))).toEqual({
      notRequested: expect.stringContaining(`runs refund ${request.refundId} as ${refundWorkflowId(request)}, not as by-hand-1`) as unknown,
    });
  });

  it('lets on the refund of an order’s transaction only from the accepted order.cancelled’s own run', async () => {
    const order = { orderId: `ORDER-O${n}`, provider: 'oen' as const, reason: '訂單取消' };
    const child = oenRefund({ orderId: order.orderId });
    const request = { ...child, refundId: orderRefundId(order.orderId, child.transactionHid), reason: order.reason };
    const own = runOf(refundWorkflowId(request), orderWorkflowId(order.orderId));
    expect(await gate.refund(request, own)).toEqual({
      notRequested: expect.stringContaining(`accepted no order.cancelled for order ${order.orderId}`) as unknown,
    });
    const eventId = await accepted(db, 'order.cancelled', order);
    expect(await gate.refund(request, own)).toEqual({ accepted: { eventId } });
    expect(await gate.refund(request, runOf(refundWorkflowId(request), 'order-cancelled-ELSEWHERE'))).toEqual({
      notRequested: expect.stringContaining('which is not the order.cancelled run of order') as unknown,
    });
    expect(await gate.refund({ ...request, refundId: 'RF-OTHER-NAME' }, own)).toEqual({
      notRequested: expect.stringContaining(`an order's refunds are named ${request.refundId}`) as unknown,
    });
    // With no parent, an order's refund is a refund like any other: the intake accepted none by that id.
    expect(await gate.refund(request, runOf(refundWorkflowId(request)))).toEqual({ notRequested: expect.stringContaining('accepted no request') as unknown });
  });

  it('lets on an order.cancelled or subscription.cancelled run only for the accepted event, same contents, same workflow id', async () => {
    const order = { orderId: `ORDER-X${n}`, provider: 'oen' as const, subscriptionId: `SUB-X${n}` };
    const subscription = { provider: 'oen' as const, subscriptionId: `SUB-Y${n}` };
    expect(await gate.event('order.cancelled', order, runOf(orderWorkflowId(order.orderId)))).toEqual({
      notRequested: expect.stringContaining(`accepted no order.cancelled for order ${order.orderId}`) as unknown,
    });
    const orderEvent = await accepted(db, 'order.cancelled', order);
    const subscriptionEvent = await accepted(db, 'subscription.cancelled', subscription);
    expect(await gate.event('order.cancelled', order, runOf(orderWorkflowId(order.orderId)))).toEqual({ accepted: { eventId: orderEvent } });
    expect(await gate.event('subscription.cancelled', subscription, runOf(subscriptionWorkflowId(subscription.subscriptionId)))).toEqual({
      accepted: { eventId: subscriptionEvent },
    });
    // Another subscription on the accepted order, or the order's run under another id: stopped.
    expect(await gate.event('order.cancelled', { ...order, subscriptionId: 'SUB-ELSE' }, runOf(orderWorkflowId(order.orderId)))).toEqual({
      notRequested: expect.stringContaining('says something else') as unknown,
    });
    expect(await gate.event('order.cancelled', order, runOf('order-by-hand'))).toEqual({
      notRequested: expect.stringContaining(`not as order-by-hand`) as unknown,
    });
    expect((await stoppedRows()).at(-1)?.detail).toMatchObject({ workflowType: 'refundOrderWorkflow', workflowId: 'order-by-hand' });
  });
});
