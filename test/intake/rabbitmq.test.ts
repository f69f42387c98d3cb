import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalHeaderNames } from '../../src/api/brokers/ack.js';
import type { Database } from '../../src/ledger/database.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret, oenRefundEvent } from '../helpers/api.js';
import { AmqpPublisher, amqpNames, brokerAvailable, closeIntakeConnection } from '../helpers/brokers.js';
import { useEngine } from '../helpers/engine.js';
import { counted, finalStatus, keptBodyMentions, providerRefunds, startIntakeApi, useIntakeWorker, type IntakeApi } from './intake-api.js';

/**
 * The RabbitMQ intake on this machine's RabbitMQ, with the suite's Temporal, the emulators and a
 * PGlite ledger: an event published in either CloudEvents mode becomes one refund at the provider;
 * a refusal is kept and dead-lettered with its reason; a message the intake cannot take comes back;
 * a connection the server closes is made again. Each part fails if what it checks breaks: a refund
 * made twice, a refusal acked without its dead letter, a message acked before the inbox took it,
 * a consumer that does not come back.
 */

const rabbit = await brokerAvailable('rabbitmq');
const engine = useEngine('intake-rabbitmq');
useIntakeWorker(engine);

describe.skipIf(!rabbit)('the RabbitMQ intake', () => {
  const names = amqpNames('rabbitmq');
  let publisher: AmqpPublisher;
  let intake: IntakeApi;

  beforeAll(async () => {
    publisher = new AmqpPublisher();
    intake = await startIntakeApi(engine(), names.env, { waitFor: ['amqp'] });
  });
  afterAll(async () => {
    await intake?.close();
    await publisher?.remove(names);
    await publisher?.close();
  });

  const inbox = () => new EventInbox(engine().db);

  it('made its queue, and its dead-letter exchange with a queue bound to it', async () => {
    expect((await publisher.connection.queueDeclare({ queue: names.queue, passive: true })).queue).toBe(names.queue);
    expect((await publisher.connection.queueDeclare({ queue: names.deadLetterExchange, passive: true })).queue).toBe(names.deadLetterExchange);
  });

  it('structured mode: a signed refund.requested reaches the provider once, and the ledger says it came by RabbitMQ', async () => {
    const event = await oenRefundEvent(engine());
    await publisher.structured(names.queue, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
    expect(await inbox().get(event.id)).toMatchObject({ intake: 'amqp', status: 'started' });
  }, 90_000);

  it('binary mode: cloudEvents_ headers, the data as the body with content type application/json, signed over attributes and data', async () => {
    const event = await oenRefundEvent(engine());
    await publisher.binary(names.queue, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
    expect(await inbox().get(event.id)).toMatchObject({
      intake: 'amqp',
      event: { id: event.id, type: 'refund.requested', data: { refundId: event.data.refundId } },
    });
  }, 90_000);

  it('a message signed an hour ago (it waited in the queue through an outage) is taken; HTTP would refuse that age', async () => {
    const event = await oenRefundEvent(engine());
    const body = JSON.stringify(event);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await publisher.structured(names.queue, event, { headers: intake.signer.sign(event.id, body, anHourAgo) });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    expect(intake.signer.verify(body, intake.signer.sign(event.id, body, anHourAgo))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^webhook-timestamp is 36\d\d seconds behind our clock; at most 300 are accepted/) as unknown,
    });
  }, 90_000);

  it('the same event published three times: one refund; the two others are acked as duplicates', async () => {
    const event = await oenRefundEvent(engine());
    const before = await counted(intake, 'amqp', 'duplicate');
    for (let i = 0; i < 3; i += 1) await publisher.structured(names.queue, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    await expect.poll(() => counted(intake, 'amqp', 'duplicate'), { timeout: 30_000 }).toBe(before + 2);
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
  }, 120_000);

  it('refusals are kept with their reason and dead-lettered with it as headers: bad JSON, a schema error, a missing or wrong signature, a signed binary message whose type was changed', async () => {
    const event = () => ({ ...baseEvent(), id: `evt_${randomUUID()}` });
    const tampered = await oenRefundEvent(engine());
    const cases: Array<{ name: string; eventId: string; send: () => Promise<void>; status: number; reason: RegExp }> = [];
    const badJson = event();
    // The body as sent, cut short: the dead letter keeps these bytes.
    cases.push({
      name: 'bad JSON',
      eventId: badJson.id,
      send: () => publisher.structured(names.queue, badJson, { signer: intake.signer, body: `{"id":"${badJson.id}",` }),
      status: 400,
      reason: /^the body is not valid JSON/,
    });
    const schema = { ...event(), type: 'refund.wanted' };
    cases.push({
      name: 'schema',
      eventId: schema.id,
      send: () => publisher.structured(names.queue, schema, { signer: intake.signer }),
      status: 422,
      reason: /does not match the contract/,
    });
    const unsigned = event();
    cases.push({
      name: 'no signature',
      eventId: unsigned.id,
      send: () => publisher.structured(names.queue, unsigned),
      status: 401,
      reason: /missing signature headers webhook-id, webhook-timestamp, webhook-signature/,
    });
    const wrong = event();
    cases.push({
      name: 'wrong secret',
      eventId: wrong.id,
      send: () => publisher.structured(names.queue, wrong, { signer: new Signer(newWebhookSecret()) }),
      status: 401,
      reason: /no signature in webhook-signature matches/,
    });
    cases.push({
      name: 'binary type changed',
      eventId: tampered.id,
      send: () => publisher.binary(names.queue, tampered, { signer: intake.signer, tamper: { cloudEvents_type: 'order.cancelled' } }),
      status: 401,
      reason: /no signature in webhook-signature matches/,
    });
    for (const c of cases) await c.send();

    const dead: Array<{ headers: Record<string, unknown>; body: string }> = [];
    await expect
      .poll(
        async () => {
          const message = await publisher.get(names.deadLetterExchange);
          if (message)
            dead.push({ headers: message.headers ?? {}, body: Buffer.isBuffer(message.body) ? message.body.toString('utf8') : JSON.stringify(message.body) });
          return dead.length;
        },
        { timeout: 30_000, interval: 50, message: 'every refusal reaches the dead-letter queue' },
      )
      .toBe(cases.length);
    const kept = await inbox().rejected(50);
    for (const c of cases) {
      const letter = dead.find((d) => d.headers.cloudEvents_id === c.eventId || d.body.includes(c.eventId));
      expect(letter, c.name).toBeDefined();
      expect(letter?.headers[refusalHeaderNames.status], c.name).toBe(String(c.status));
      expect(String(letter?.headers[refusalHeaderNames.reason]), c.name).toMatch(c.reason);
      expect(letter?.headers[refusalHeaderNames.intake], c.name).toBe('amqp');
      const row = kept.find((r) => r.intake === 'amqp' && keptBodyMentions(r.body, c.eventId));
      expect(row, `${c.name} kept in rejected_requests`).toMatchObject({ statusCode: c.status, intake: 'amqp' });
      expect(row?.reason, c.name).toMatch(c.reason);
    }
    // The problems of a schema refusal travel with it.
    const schemaLetter = dead.find((d) => d.body.includes(schema.id));
    expect(JSON.parse(String(schemaLetter?.headers[refusalHeaderNames.problems]))).toContainEqual({
      field: 'type',
      problem: expect.stringMatching(/must be one of/) as unknown,
    });
    // The tampered refund was never started.
    expect(await engine().ledger.get(tampered.data.refundId)).toBeUndefined();
    expect(await inbox().get(tampered.id)).toBeUndefined();
  });

  it('a refusal no queue would keep (the dead-letter queue unbound) is not acked: it is dead-lettered once a queue is bound again', async () => {
    await publisher.connection.queueUnbind({ queue: names.deadLetterExchange, exchange: names.deadLetterExchange });
    const unsigned = { ...baseEvent(), id: `evt_${randomUUID()}` };
    try {
      await publisher.structured(names.queue, unsigned);
      await expect
        .poll(() => intake.logs.some((line) => line.includes(names.deadLetterExchange) && line.includes('routes to no queue, so the refusal would be lost')), {
          timeout: 30_000,
          message: 'the intake says the refusal would be lost, and keeps the message',
        })
        .toBe(true);
      expect(await publisher.get(names.deadLetterExchange)).toBeUndefined();
    } finally {
      await publisher.connection.queueBind({ queue: names.deadLetterExchange, exchange: names.deadLetterExchange });
    }
    let letter: Awaited<ReturnType<AmqpPublisher['get']>>;
    await expect
      .poll(
        async () => {
          letter ??= await publisher.get(names.deadLetterExchange);
          return letter !== undefined;
        },
        { timeout: 60_000, interval: 100, message: 'the message, taken again after its backoff, is dead-lettered' },
      )
      .toBe(true);
    const body = Buffer.isBuffer(letter!.body) ? letter!.body.toString('utf8') : JSON.stringify(letter!.body);
    expect(body).toContain(unsigned.id);
    expect(letter!.headers?.[refusalHeaderNames.status]).toBe('401');
  }, 120_000);

  it('its queue deleted, it makes it again and consumes from it', async () => {
    await publisher.connection.queueDelete({ queue: names.queue });
    await expect.poll(() => intake.logs.some((line) => line.includes('RabbitMQ intake down')), { timeout: 30_000 }).toBe(true);
    await expect
      .poll(async () => (await publisher.connection.queueDeclare({ queue: names.queue, passive: true }).catch(() => undefined))?.consumerCount, {
        timeout: 60_000,
      })
      .toBe(1);
    const event = await oenRefundEvent(engine());
    await publisher.structured(names.queue, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
  }, 180_000);

  it('reconnects after the server closes its connection, and consumes again (one line down, one line back)', async () => {
    const lines = () => intake.logs.filter((line) => /RabbitMQ intake (down|back)/.test(line)).length;
    const before = lines();
    await closeIntakeConnection(names.queue);
    await expect.poll(lines, { timeout: 60_000, message: 'one line down, then one line back' }).toBe(before + 2);
    expect(
      intake.logs
        .filter((line) => /RabbitMQ intake (down|back)/.test(line))
        .slice(-2)
        .map((line) => /intake (down|back)/.exec(line)?.[1]),
    ).toEqual(['down', 'back']);
    const event = await oenRefundEvent(engine());
    await publisher.binary(names.queue, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    const ready = await fetch(`${intake.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: expect.arrayContaining([{ name: 'intake:amqp', status: 'ok' }]) as unknown });
  }, 150_000);
});

describe.skipIf(!rabbit)('the RabbitMQ intake when the inbox cannot be written', () => {
  const names = amqpNames('rabbitmq-ledger-down');
  let publisher: AmqpPublisher;
  let intake: IntakeApi;
  let broken = true;

  beforeAll(async () => {
    publisher = new AmqpPublisher();
    const db = engine().db;
    // The engine's ledger, refusing its transactions (the inbox write) while `broken`, as a database
    // that went away would; its reads (the intake's, the dispatcher's, /readyz's) go on.
    const flaky: Database = {
      ...db,
      transaction: ((work: Parameters<Database['transaction']>[0]) =>
        broken ? Promise.reject(new Error('the ledger is unreachable (this test)')) : db.transaction(work)) as Database['transaction'],
    };
    intake = await startIntakeApi(engine(), names.env, { db: flaky, waitFor: ['amqp'] });
  });
  afterAll(async () => {
    broken = false;
    await intake?.close();
    await publisher?.remove(names);
    await publisher?.close();
  });

  it('does not ack: the message comes back after a backoff, and is taken once the ledger is back', async () => {
    const event = await oenRefundEvent(engine());
    await publisher.structured(names.queue, event, { signer: intake.signer });
    await expect.poll(() => counted(intake, 'amqp', 'failed'), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(await engine().ledger.get(event.data.refundId)).toBeUndefined();
    broken = false;
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    expect(await counted(intake, 'amqp', 'accepted')).toBe(1);
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
  }, 120_000);
});

/** A well-formed event that no refusal case lets through (each case breaks it one way). */
function baseEvent() {
  return {
    specversion: '1.0',
    id: `evt_${randomUUID()}`,
    source: 'order-management',
    type: 'refund.requested',
    data: { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId: 'ORDER-X', transactionHid: 'P20261125AAAAAAAA', amount: 1000 },
  };
}
