import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeDeliveryId } from '../../src/activities/outcome.js';
import type { Database } from '../../src/ledger/database.js';
import { OutcomeOutbox } from '../../src/ledger/outbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { amqpDestination, natsDestination } from '../../src/outcomes/broker-destinations.js';
import type { OutcomeDestination } from '../../src/outcomes/destinations.js';
import { OutcomeRelay } from '../../src/outcomes/relay.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret } from '../helpers/api.js';
import { brokerAvailable, TEST_AMQP_URL, TEST_NATS_URL } from '../helpers/brokers.js';
import { freshDatabase, oenRequest } from '../helpers/databases.js';

const rabbit = await brokerAvailable('rabbitmq');
const nats = await brokerAvailable('nats');
const ui = { uiBaseUrl: 'http://ui.test', namespace: 'default' };
const secret = newWebhookSecret();

let db: Database;
let refunds: RefundLedger;
beforeAll(async () => {
  db = await freshDatabase('pglite');
  refunds = new RefundLedger(db);
});
afterAll(async () => {
  await db.close();
});

/** Two refunds carried to their ends (n, n+1): their events' ids, in the order they were written. */
async function twoOutcomes(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (const k of [n, n + 1]) {
    await refunds.open(oenRequest(k), `wf-${k}`);
    await refunds.transition(`RF-${k}`, 'submitting');
    const record = await refunds.transition(`RF-${k}`, k === n ? 'succeeded' : 'failed', k === n ? {} : { error: { code: 'OenT0001', message: 'refused' } });
    ids.push(outcomeDeliveryId(record));
  }
  return ids;
}

/** A relay on the test's ledger with one destination, quick to look and to retry. */
async function relayTo(destination: OutcomeDestination): Promise<OutcomeRelay> {
  const relay = new OutcomeRelay({ outbox: new OutcomeOutbox(db), destinations: [destination], ui, pollMs: 20, backoffMs: 50, maxBackoffMs: 200 });
  await relay.start();
  return relay;
}

describe.runIf(rabbit)('outcome events to a RabbitMQ exchange', () => {
  const exchange = `refundflow.test.outcomes.${randomUUID().slice(0, 8)}`;
  const admin = new Connection(TEST_AMQP_URL);
  afterAll(async () => {
    await admin.queueDelete({ queue: exchange }).catch(() => undefined);
    await admin.queueDelete({ queue: `${exchange}.mine` }).catch(() => undefined);
    await admin.exchangeDelete({ exchange }).catch(() => undefined);
    await admin.close();
  });

  it('in order, persistent, routed by type, the event id as messageId, signed; kept in the queue of its name until read', async () => {
    const relay = await relayTo(amqpDestination({ url: TEST_AMQP_URL, exchange, secret }));
    const ids = await twoOutcomes(1);
    const got: Array<{ id: unknown; routingKey: string; body: string; headers: Record<string, unknown>; contentType: unknown; durable: unknown }> = [];
    await expect
      .poll(
        async () => {
          const message = await admin.basicGet({ queue: exchange, noAck: true }).catch(() => undefined);
          if (message) {
            const body = Buffer.isBuffer(message.body) ? message.body.toString('utf8') : JSON.stringify(message.body);
            got.push({
              id: message.messageId,
              routingKey: message.routingKey,
              body,
              headers: message.headers ?? {},
              contentType: message.contentType,
              durable: message.durable,
            });
          }
          return got.length;
        },
        { timeout: 15_000, interval: 50 },
      )
      .toBe(2);
    await relay.close();
    expect(got.map((m) => [m.id, m.routingKey])).toEqual([
      [ids[0], 'refund.succeeded'],
      [ids[1], 'refund.failed'],
    ]);
    expect(got.every((m) => m.contentType === 'application/cloudevents+json' && m.durable === true)).toBe(true);
    const signer = new Signer(secret);
    for (const m of got) {
      expect(signer.verify(m.body, m.headers as Record<string, string>).ok).toBe(true);
      expect((JSON.parse(m.body) as { id: string }).id).toBe(m.id);
    }
  });

  it('a publish nothing would keep (the queue gone, none bound) is not delivered: sent again until a queue is bound', async () => {
    const destination = amqpDestination({ url: TEST_AMQP_URL, exchange, secret });
    const relay = await relayTo(destination);
    // Its declarations done by a first publish, the queue is taken away.
    await twoOutcomes(3);
    await expect.poll(async () => (await new OutcomeOutbox(db).destinations())[0]?.deliveredThrough, { timeout: 15_000, interval: 50 }).toBe(4);
    await admin.queueDelete({ queue: exchange });
    const [id] = await twoOutcomes(5);
    await expect
      .poll(async () => (await new OutcomeOutbox(db).destinations())[0]?.lastError ?? '', { timeout: 15_000, interval: 50 })
      .toContain(`${id}: RabbitMQ returned it: no queue is bound to exchange "${exchange}"`);
    await admin.queueDeclare({ queue: `${exchange}.mine`, durable: true });
    await admin.queueBind({ queue: `${exchange}.mine`, exchange, routingKey: 'refund.*' });
    await expect.poll(async () => (await new OutcomeOutbox(db).destinations())[0]?.deliveredThrough, { timeout: 15_000, interval: 50 }).toBe(6);
    await relay.close();
    const first = await admin.basicGet({ queue: `${exchange}.mine`, noAck: true });
    expect(first?.messageId).toBe(id);
  });
});

describe.runIf(nats)('outcome events to a NATS JetStream subject', () => {
  const tag = randomUUID().slice(0, 8);
  const stream = `RF_TEST_OUTCOMES_${tag}`;
  const subject = `refundflow.test.outcomes.${tag}`;
  afterAll(async () => {
    const nc = await connect({ servers: TEST_NATS_URL });
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  it('in order, stored in the stream it makes, Nats-Msg-Id the event id (a copy sent again is dropped), signed', async () => {
    const destination = natsDestination({ servers: TEST_NATS_URL, subject, stream, secret });
    const relay = await relayTo(destination);
    const ids = await twoOutcomes(11);
    const nc = await connect({ servers: TEST_NATS_URL });
    try {
      const jsm = await jetstreamManager(nc);
      await expect.poll(async () => (await jsm.streams.info(stream).catch(() => undefined))?.state.messages ?? 0, { timeout: 15_000, interval: 50 }).toBe(2);
      // A redelivery of the first: JetStream's duplicate window keeps one.
      const outcome = await new OutcomeOutbox(db).byId(ids[0]!);
      expect(await relay.redeliver(outcome!)).toEqual([{ destination: 'nats', delivered: true }]);
      expect((await jsm.streams.info(stream)).state.messages).toBe(2);
      const signer = new Signer(secret);
      const stored = await Promise.all([1, 2].map((seq) => jsm.streams.getMessage(stream, { seq })));
      expect(stored.map((m) => m?.header.get('Nats-Msg-Id'))).toEqual(ids);
      for (const m of stored) {
        const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, m?.header.get(h) ?? '']));
        expect(signer.verify(m!.string(), headers).ok).toBe(true);
        expect(m?.header.get('Content-Type')).toBe('application/cloudevents+json');
      }
    } finally {
      await relay.close();
      await nc.close();
    }
  });
});
