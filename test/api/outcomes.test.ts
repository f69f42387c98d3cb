import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail } from '../../src/ledger/audit.js';
import { OutcomeReceiver } from '../chaos/processes.js';
import { newWebhookSecret, oenRefundEvent, useApi } from '../helpers/api.js';
import { outcomesDelivered, useEngine } from '../helpers/engine.js';

const engine = useEngine('api-outcomes');
const secret = newWebhookSecret();
let refusing = false;
const receiver = new OutcomeReceiver(secret, 0.5, () => (refusing ? 0 : 1));
beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.close();
});
const api = useApi(engine, { outcomes: () => ({ url: receiver.url, secret }) });

interface StreamAnswer {
  outcomes: Array<{ cursor: string; event: { id: string; type: string; data: { refundId: string; status: string; uiUrl: string } } }>;
  next: string;
}

/** A refund requested over HTTP and carried out: its event id once the relay has sent its outcome. */
async function refundCarriedOut(): Promise<{ refundId: string }> {
  const event = await oenRefundEvent(engine());
  expect((await api().send(event)).status).toBe(202);
  await expect.poll(async () => (await api().request('GET', `/v1/refunds/${event.data.refundId}`)).body.status, { timeout: 30_000 }).toBe('succeeded');
  await outcomesDelivered(engine().db);
  return { refundId: event.data.refundId };
}

describe('GET /v1/outcomes: the outcome stream', () => {
  it('gives every outcome event in order with its cursor, the same event the webhook was sent; after the last cursor, nothing, and the same cursor back', async () => {
    const first = await refundCarriedOut();
    const second = await refundCarriedOut();
    const all = (await api().request('GET', '/v1/outcomes', { token: api().keys.viewer })).body as unknown as StreamAnswer;
    const mine = all.outcomes.filter((o) => [first.refundId, second.refundId].includes(o.event.data.refundId));
    expect(mine.map((o) => [o.event.type, o.event.data.refundId])).toEqual([
      ['refund.succeeded', first.refundId],
      ['refund.succeeded', second.refundId],
    ]);
    expect(Number(mine[1]!.cursor)).toBeGreaterThan(Number(mine[0]!.cursor));
    expect(mine[0]!.event.data.uiUrl).toMatch(/^http:\/\/localhost:8233\/namespaces\/default\/workflows\/oen-refund-/);
    // Byte for byte what the relay sent.
    const sent = receiver.bodies.find((body) => body.includes(mine[0]!.event.id));
    expect(JSON.parse(sent!)).toEqual(mine[0]!.event);
    expect(all.next).toBe(all.outcomes.at(-1)?.cursor);

    const after = (await api().request('GET', `/v1/outcomes?after=${mine[0]!.cursor}&limit=1`, { token: api().keys.viewer })).body as unknown as StreamAnswer;
    expect(after.outcomes.map((o) => o.event.data.refundId)).toEqual([second.refundId]);
    const caughtUp = (await api().request('GET', `/v1/outcomes?after=${all.next}`, { token: api().keys.viewer })).body as unknown as StreamAnswer;
    expect(caughtUp).toEqual({ outcomes: [], next: all.next });
  });

  it('refuses a cursor that is not one, a limit out of range, and a caller without a credential', async () => {
    const bad = await api().request('GET', '/v1/outcomes?after=abc&limit=5000', { token: api().keys.viewer });
    expect(bad.status).toBe(422);
    expect(bad.body.problems?.map((p) => p.field).sort()).toEqual(['after', 'limit']);
    expect((await api().request('GET', '/v1/outcomes', { token: null })).status).toBe(401);
  });
});

describe('POST /v1/outcomes/:eventId/redeliver', () => {
  it('an operator sends one event again to the webhook, audited before and after; a viewer may not; an unknown id is 404', async () => {
    const { refundId } = await refundCarriedOut();
    const stream = (await api().request('GET', '/v1/outcomes', { token: api().keys.viewer })).body as unknown as StreamAnswer;
    const eventId = stream.outcomes.find((o) => o.event.data.refundId === refundId)!.event.id;
    const before = receiver.deliveries.filter((d) => d.id === eventId).length;
    expect(before).toBe(1);

    expect((await api().request('POST', `/v1/outcomes/${eventId}/redeliver`, { token: api().keys.viewer })).status).toBe(403);
    const again = await api().request('POST', `/v1/outcomes/${eventId}/redeliver`, { token: api().keys.operator });
    expect(again).toEqual({ status: 200, body: { eventId, deliveries: [{ destination: 'webhook', delivered: true }] } });
    expect(receiver.deliveries.filter((d) => d.id === eventId)).toHaveLength(2);
    const { entries } = await new AuditTrail(engine().db).list({ refundId, limit: 10 });
    expect(entries.filter((e) => e.action === 'outcome.redeliver').map((e) => e.outcome)).toEqual(['attempted', 'done']);

    const unknown = await api().request('POST', '/v1/outcomes/RF-nope.succeeded.1/redeliver', { token: api().keys.operator });
    expect(unknown).toEqual({ status: 404, body: { error: 'no outcome event RF-nope.succeeded.1' } });
  });

  it('a destination that does not take it: 502, with its error', async () => {
    const { refundId } = await refundCarriedOut();
    const stream = (await api().request('GET', '/v1/outcomes', { token: api().keys.viewer })).body as unknown as StreamAnswer;
    const eventId = stream.outcomes.find((o) => o.event.data.refundId === refundId)!.event.id;
    refusing = true;
    try {
      const refused = await api().request('POST', `/v1/outcomes/${eventId}/redeliver`, { token: api().keys.operator });
      expect(refused).toEqual({
        status: 502,
        body: {
          error: `webhook did not take ${eventId}: the outcome receiver answered HTTP 503`,
          eventId,
          deliveries: [{ destination: 'webhook', delivered: false, error: 'the outcome receiver answered HTTP 503' }],
        },
      });
    } finally {
      refusing = false;
    }
  });
});
