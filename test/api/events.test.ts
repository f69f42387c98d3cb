import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Signer } from '../../src/webhooks/signing.js';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';
import { WorkflowFailedError } from '@temporalio/client';
import { newWebhookSecret, oenRefundEvent, useApi } from '../helpers/api.js';
import { useEngine } from '../helpers/engine.js';
import { sandboxRefunds } from '../helpers/sandbox.js';

const engine = useEngine('api-events');
const api = useApi(engine);

async function refundsOf(transactionHid: string) {
  return (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === transactionHid);
}

async function finalStatus(refundId: string): Promise<string> {
  let status = '';
  await expect
    .poll(
      async () => {
        status = ((await api().request('GET', `/v1/refunds/${refundId}`)).body as { status: string }).status;
        return ['succeeded', 'failed', 'requires_attention', 'cancelled'].includes(status);
      },
      { timeout: 30_000, interval: 200 },
    )
    .toBe(true);
  return status;
}

async function lastRejected() {
  return (await api().inbox.rejected(1))[0];
}

describe('POST /v1/events: accepted', () => {
  it('202 with the refund, its workflow and UI link; the refund succeeds and GET shows it', async () => {
    const event = await oenRefundEvent(engine());
    const answer = await api().send(event);
    const workflowId = `oen-refund-${event.data.transactionHid}`;
    expect(answer).toEqual({
      status: 202,
      body: {
        eventId: event.id,
        refunds: [
          {
            refundId: event.data.refundId,
            status: 'received',
            workflowId,
            uiUrl: `http://localhost:8233/namespaces/default/workflows/${workflowId}`,
          },
        ],
        workflowId,
        uiUrl: `http://localhost:8233/namespaces/default/workflows/${workflowId}`,
      },
    });
    expect(await finalStatus(event.data.refundId)).toBe('succeeded');
    const got = await api().request('GET', `/v1/refunds/${event.data.refundId}`);
    expect(got.body).toMatchObject({
      refundId: event.data.refundId,
      provider: 'oen',
      orderId: event.data.orderId,
      transactionHid: event.data.transactionHid,
      amount: 1000,
      status: 'succeeded',
      providerReference: event.data.transactionHid,
      attempts: 1,
      workflowId,
      uiUrl: `http://localhost:8233/namespaces/default/workflows/${workflowId}`,
    });
    expect(await refundsOf(event.data.transactionHid)).toHaveLength(1);
  });

  it('a card number typed into the reason is masked before it is kept or run; identifiers are kept as sent', async () => {
    // An order id that passes a Luhn check is still an order id.
    const orderId = '4242424242424242';
    const event = await oenRefundEvent(engine(), { orderId, reason: 'customer wrote 4111 1111 1111 1111 in the form' });
    expect((await api().send(event)).status).toBe(202);
    expect(await finalStatus(event.data.refundId)).toBe('succeeded');
    const kept = (await api().inbox.get(event.id))?.event as { data: { orderId: string; reason: string } };
    expect(kept.data).toMatchObject({ orderId, reason: 'customer wrote ****1111 in the form' });
    const history = await engine().temporal.client.workflow.getHandle(`oen-refund-${event.data.transactionHid}`).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const started = Buffer.from(input ?? new Uint8Array()).toString('utf8');
    expect(started).toContain(`"orderId":"${orderId}"`);
    expect(started).toContain('****1111');
    expect(started).not.toContain('4111 1111 1111 1111');
  });

  it('the same event 20 times at once: one workflow, one refund; one 202, the others 200 with the same body', async () => {
    const event = await oenRefundEvent(engine());
    const answers = await Promise.all(Array.from({ length: 20 }, () => api().send(event)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    for (const a of answers) expect(a.body).toEqual(answers[0]?.body);
    expect(await finalStatus(event.data.refundId)).toBe('succeeded');
    const runs: string[] = [];
    for await (const run of engine().temporal.client.workflow.list({ query: `TransactionHid="${event.data.transactionHid}"` })) {
      runs.push(run.runId);
    }
    expect(runs).toHaveLength(1);
    expect(await refundsOf(event.data.transactionHid)).toHaveLength(1);
  });

  it('order.cancelled and subscription.cancelled start their workflows', async () => {
    const order = await oenRefundEvent(engine());
    const cancelled = await api().send({
      specversion: '1.0',
      id: `evt_${randomUUID()}`,
      source: 'order-management',
      type: 'order.cancelled',
      data: { orderId: order.data.orderId, provider: 'oen', reason: '訂單取消' },
    });
    expect(cancelled).toMatchObject({ status: 202, body: { refunds: [], workflowId: `order-cancelled-${order.data.orderId}` } });
    const result: unknown = await engine().temporal.client.workflow.getHandle(`order-cancelled-${order.data.orderId}`).result();
    expect(result).toMatchObject({ refunds: [{ refundId: `${order.data.orderId}:${order.data.transactionHid}`, status: 'succeeded' }] });

    const subscription = await api().send({
      specversion: '1.0',
      id: `evt_${randomUUID()}`,
      source: 'order-management',
      type: 'subscription.cancelled',
      data: { provider: 'oen', subscriptionId: 'S202404112CYPRJPZ' },
    });
    expect(subscription).toMatchObject({ status: 202, body: { workflowId: 'subscription-cancel-S202404112CYPRJPZ' } });
  });
});

describe('POST /v1/events: refused, with the reason, and stored', () => {
  it('401 for a wrong secret, a timestamp skewed past 5 minutes either way, a tampered body, missing headers', async () => {
    const event = await oenRefundEvent(engine());
    const body = JSON.stringify(event);
    const cases: Array<[string, Record<string, string>, string | undefined, RegExp]> = [
      ['wrong secret', new Signer(newWebhookSecret()).sign(event.id, body), undefined, /no signature in webhook-signature matches/],
      ['6 minutes old', api().signer.sign(event.id, body, new Date(Date.now() - 6 * 60_000)), undefined, /seconds behind our clock; at most 300/],
      ['6 minutes ahead', api().signer.sign(event.id, body, new Date(Date.now() + 6 * 60_000)), undefined, /seconds ahead of our clock/],
      ['tampered body', api().signer.sign(event.id, body), body.replace('"amount":1000', '"amount":9000'), /no signature in webhook-signature matches/],
      ['no headers', {}, undefined, /missing signature headers webhook-id, webhook-timestamp, webhook-signature/],
    ];
    for (const [name, headers, raw, reason] of cases) {
      const answer = await api().send(event, { headers, raw: raw ?? body });
      expect(answer.status, name).toBe(401);
      expect(answer.body.error, name).toMatch(reason);
      const stored = await lastRejected();
      expect(stored, name).toMatchObject({ statusCode: 401, reason: expect.stringMatching(reason) as unknown, bodySize: Buffer.byteLength(raw ?? body) });
    }
    expect(await refundsOf(event.data.transactionHid)).toEqual([]);
    expect((await api().request('GET', `/v1/refunds/${event.data.refundId}`)).status).toBe(404);
  });

  it('422 naming each field: wrong types, missing fields, unknown type, bad amounts, unknown provider', async () => {
    const base = await oenRefundEvent(engine());
    const cases: Array<[string, unknown, Array<{ field: string; problem: RegExp }>]> = [
      ['amount as a string', { ...base, data: { ...base.data, amount: '1000' } }, [{ field: 'data.amount', problem: /must be a number/ }]],
      ['non-integer amount', { ...base, data: { ...base.data, amount: 10.5 } }, [{ field: 'data.amount', problem: /whole number of NT\$/ }]],
      ['zero amount', { ...base, data: { ...base.data, amount: 0 } }, [{ field: 'data.amount', problem: /positive/ }]],
      ['negative amount', { ...base, data: { ...base.data, amount: -5 } }, [{ field: 'data.amount', problem: /positive/ }]],
      ['unknown provider', { ...base, data: { ...base.data, provider: 'paypal' } }, [{ field: 'data.provider', problem: /"oen" or "mwd"/ }]],
      ['unknown event type', { ...base, type: 'refund.exploded' }, [{ field: 'type', problem: /must be one of "refund.requested"/ }]],
      [
        'missing fields',
        { specversion: '1.0', type: 'refund.requested', data: { provider: 'oen' } },
        [
          { field: 'id', problem: /./ },
          { field: 'source', problem: /./ },
          { field: 'data.refundId', problem: /./ },
          { field: 'data.orderId', problem: /./ },
          { field: 'data.amount', problem: /./ },
          { field: 'data.transactionHid', problem: /./ },
        ],
      ],
      [
        'a field the type does not take',
        { ...base, data: { ...base.data, cardNumber: '4242424242424242' } },
        [{ field: 'data', problem: /does not take: cardNumber/ }],
      ],
      ['not an object', [1, 2], [{ field: '(body)', problem: /JSON object/ }]],
    ];
    for (const [name, event, problems] of cases) {
      const answer = await api().send(Array.isArray(event) || name === 'missing fields' ? event : { ...(event as object), id: `evt_${randomUUID()}` });
      expect(answer.status, name).toBe(422);
      expect(answer.body.error, name).toMatch(/does not match the contract/);
      for (const p of problems) {
        expect(answer.body.problems, name).toContainEqual({ field: p.field, problem: expect.stringMatching(p.problem) as unknown });
      }
      expect(await lastRejected(), name).toMatchObject({ statusCode: 422 });
    }
    const stored = await api().inbox.rejected(20);
    expect(JSON.stringify(stored)).not.toContain('4242424242424242');
  });

  it('a card number across the cut of a kept body is masked, not kept in part', async () => {
    // The card number starts 12 bytes before the 16 KiB cut: cut first, its first 12 digits would be kept.
    const raw = `{"x":"${'a'.repeat(16 * 1024 - 6 - 12)}4242424242424242"`;
    expect((await api().send({ id: `evt_${randomUUID()}` }, { raw })).status).toBe(400);
    const stored = await lastRejected();
    expect(stored?.bodySize).toBe(raw.length);
    expect(stored?.body).toMatch(/a\*{4}4242"$/);
    expect(stored?.body).not.toContain('424242424242');
    expect(Buffer.byteLength(stored?.body ?? '')).toBeLessThanOrEqual(16 * 1024);
  });

  it('400 for a body that is not JSON, 413 for one over 256 KiB; both stored', async () => {
    const truncated = '{"specversion": "1.0", ';
    const invalid = await api().send({ id: `evt_${randomUUID()}` }, { raw: truncated });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatch(/^the body is not valid JSON: /);
    expect(await lastRejected()).toMatchObject({ statusCode: 400, bodySize: truncated.length, body: truncated });

    const big = await oenRefundEvent(engine(), { reason: 'x'.repeat(300 * 1024) });
    const tooLarge = await api().send(big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error).toMatch(/at most 262144 \(256 KiB\) are accepted/);
    const stored = await lastRejected();
    expect(stored).toMatchObject({ statusCode: 413 });
    expect(stored?.bodySize).toBeGreaterThan(300 * 1024);
    expect(stored?.body.length).toBeLessThanOrEqual(16 * 1024);
  });

  it('409: a refund id again with other contents; an event id again with another body; a second refund id for an Oen transaction', async () => {
    const first = await oenRefundEvent(engine());
    expect((await api().send(first)).status).toBe(202);
    expect(await finalStatus(first.data.refundId)).toBe('succeeded');

    const otherContents = await api().send({ ...first, id: `evt_${randomUUID()}`, data: { ...first.data, amount: 999 } });
    expect(otherContents.status).toBe(409);
    expect(otherContents.body.error).toBe(
      `refund id ${first.data.refundId} was first requested in event ${first.id} with other contents; a different refund needs a different refundId`,
    );

    const reusedId = await api().send({ ...first, data: { ...first.data, reason: 'changed' } });
    expect(reusedId.status).toBe(409);
    expect(reusedId.body.error).toMatch(new RegExp(`event id ${first.id} was already accepted with a different body`));

    const secondRefund = await api().send({ ...first, id: `evt_${randomUUID()}`, data: { ...first.data, refundId: `RF-${randomUUID()}` } });
    expect(secondRefund.status).toBe(409);
    expect(secondRefund.body.error).toBe(
      `Oen transaction ${first.data.transactionHid} already has refund ${first.data.refundId} (succeeded); Oen allows one refund per transaction`,
    );
    expect(await lastRejected()).toMatchObject({ statusCode: 409, eventType: 'refund.requested' });
    expect(await refundsOf(first.data.transactionHid)).toHaveLength(1);

    // The same refund id and contents in a new event is the same refund: not started again (a refund
    // id ends once), answered with where it stands; nothing more happens.
    const sameAgain = await api().send({ ...first, id: `evt_${randomUUID()}` });
    expect(sameAgain).toMatchObject({ status: 200, body: { refunds: [{ refundId: first.data.refundId, status: 'succeeded' }] } });
    expect(await refundsOf(first.data.transactionHid)).toHaveLength(1);
  });
});

describe('POST /v1/events: a new refund of an Oen transaction', () => {
  it('follows one that ended failed; never one that succeeded, and a refused start leaves no refund to read', async () => {
    const seeded = await oenRefundEvent(engine());
    const first = { ...seeded, data: { ...seeded.data, amount: 1001 } };
    expect((await api().send(first)).status).toBe(202);
    // NT$1,001 of a NT$1,000 transaction: Oen refuses it before acting (V0001), and the run completes failed.
    expect(await finalStatus(first.data.refundId)).toBe('failed');
    // The ledger says failed a moment before its run has closed; only a closed run is followed (until then a new refund is 409).
    await engine()
      .temporal.client.workflow.getHandle(refundWorkflowId(first.data as RefundRequested))
      .result()
      .then(
        () => expect.fail('the first refund failed: its run ends failed'),
        (err: unknown) => expect(err).toBeInstanceOf(WorkflowFailedError),
      );
    const second = { ...first, id: `evt_${randomUUID()}`, data: { ...first.data, refundId: `RF-${randomUUID()}`, amount: 1000 } };
    expect((await api().send(second)).status).toBe(202);
    expect(await finalStatus(second.data.refundId)).toBe('succeeded');
    expect(await refundsOf(first.data.transactionHid)).toHaveLength(1);

    // A third refund id the intake's own check missed (two requests at once): accepted into the inbox,
    // its start is refused (the earlier refund succeeded), and no read says it was received.
    const third = {
      id: `evt_${randomUUID()}`,
      source: 'order-management',
      type: 'refund.requested' as const,
      data: { ...(second.data as RefundRequested), refundId: `RF-${randomUUID()}` },
    };
    await api().inbox.accept({ event: third, bodyHash: 'x', answer: { statusCode: 202, body: {} } });
    await expect.poll(async () => (await api().inbox.get(third.id))?.status, { timeout: 30_000 }).toBe('refused');
    expect(await api().request('GET', `/v1/refunds/${third.data.refundId}`)).toEqual({ status: 404, body: { error: `no refund ${third.data.refundId}` } });
    expect(await refundsOf(first.data.transactionHid)).toHaveLength(1);
  }, 120_000);
});

describe('the inbox', () => {
  it('an event written to the inbox whose workflow was never started (the API stopped in between) is started by the dispatcher, once', async () => {
    const event = await oenRefundEvent(engine());
    // Exactly what the intake writes before it answers, with no start after it.
    await api().inbox.accept({
      event: { id: event.id, source: event.source, type: 'refund.requested', data: event.data as RefundRequested },
      bodyHash: 'x',
      answer: { statusCode: 202, body: {} },
    });
    expect(await finalStatus(event.data.refundId)).toBe('succeeded');
    await expect.poll(async () => (await api().inbox.get(event.id))?.status).toBe('started');
    expect(await refundsOf(event.data.transactionHid)).toHaveLength(1);
  });
});
