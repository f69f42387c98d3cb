import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalHeaderNames } from '../../src/api/brokers/ack.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { natsHeaderValue } from '../../src/webhooks/cloudevents-binding.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret, oenRefundEvent } from '../helpers/api.js';
import { natsNames, natsServerAvailable, NatsPublisher, OwnNatsServer } from '../helpers/brokers.js';
import { useEngine } from '../helpers/engine.js';
import { counted, finalStatus, keptBodyMentions, providerRefunds, startIntakeApi, useIntakeWorker, type IntakeApi } from './intake-api.js';

/**
 * The NATS JetStream intake on a nats-server of this file's own (so that it can be killed and
 * started again without touching the server other files use), with the suite's Temporal, the
 * emulators and a PGlite ledger: both CloudEvents modes become one refund each; duplicates make
 * none; refusals are kept and dead-lettered, stored in a stream, with their reason; a server that
 * goes away leaves /readyz 503 and the metric at 0 until it is back, and consuming resumes.
 */

const nats = natsServerAvailable();
const engine = useEngine('intake-nats');
useIntakeWorker(engine);

describe.skipIf(!nats)('the NATS JetStream intake', () => {
  const names = natsNames('nats');
  let server: OwnNatsServer;
  let publisher: NatsPublisher;
  let intake: IntakeApi;

  beforeAll(async () => {
    server = await OwnNatsServer.start();
    publisher = await NatsPublisher.connect(server.url);
    intake = await startIntakeApi(engine(), { NATS_URL: server.url, ...names.env }, { waitFor: ['nats'] });
  });
  afterAll(async () => {
    await intake?.close();
    await publisher?.close();
    await server?.remove();
  });

  const inbox = () => new EventInbox(engine().db);

  it('made its stream, its durable pull consumer with explicit acks, and a stream that keeps the dead-letter subject', async () => {
    const consumer = await publisher.jsm.consumers.info(names.stream, names.consumer);
    expect(consumer.config).toMatchObject({ durable_name: names.consumer, ack_policy: 'explicit', filter_subject: names.subject });
    expect(consumer.config.deliver_subject).toBeUndefined();
    expect(await publisher.jsm.streams.find(names.deadLetterSubject)).toBe(`${names.stream}_DEAD`);
  });

  it('structured mode: a signed refund.requested reaches the provider once, and the ledger says it came by NATS', async () => {
    const event = await oenRefundEvent(engine());
    await publisher.structured(names.subject, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
    expect(await inbox().get(event.id)).toMatchObject({ intake: 'nats', status: 'started' });
  }, 90_000);

  it('binary mode: ce- headers percent-encoded, the data as the payload, signed over attributes and data', async () => {
    // A source with a space and non-ASCII: percent-encoded on the wire, signed as the decoded text.
    const event = { ...(await oenRefundEvent(engine())), source: 'order management/台北' };
    await publisher.binary(names.subject, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
    expect(await inbox().get(event.id)).toMatchObject({ intake: 'nats', source: 'order management/台北' });
  }, 90_000);

  it('the same event published three times: one refund; the two others are acked as duplicates', async () => {
    const event = await oenRefundEvent(engine());
    const before = await counted(intake, 'nats', 'duplicate');
    for (let i = 0; i < 3; i += 1) await publisher.structured(names.subject, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
    await expect.poll(() => counted(intake, 'nats', 'duplicate'), { timeout: 30_000 }).toBe(before + 2);
    expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
  }, 120_000);

  it('refusals are kept with their reason and dead-lettered, stored in a stream with it as headers: bad JSON, a schema error, a missing or wrong signature, a signed binary message whose type was changed', async () => {
    const tampered = await oenRefundEvent(engine());
    const event = () => ({ ...(baseEvent() as Record<string, unknown>), id: `evt_${randomUUID()}` }) as ReturnType<typeof baseEvent>;
    const badJson = event();
    const schema = { ...event(), type: 'refund.wanted' };
    const unsigned = event();
    const wrong = event();
    const cases = [
      {
        name: 'bad JSON',
        eventId: badJson.id,
        send: () => publisher.structured(names.subject, badJson, { signer: intake.signer, body: `{"id":"${badJson.id}",` }),
        status: 400,
        reason: /^the body is not valid JSON/,
      },
      {
        name: 'schema',
        eventId: schema.id,
        send: () => publisher.structured(names.subject, schema, { signer: intake.signer }),
        status: 422,
        reason: /does not match the contract/,
      },
      {
        name: 'no signature',
        eventId: unsigned.id,
        send: () => publisher.structured(names.subject, unsigned),
        status: 401,
        reason: /missing signature headers/,
      },
      {
        name: 'wrong secret',
        eventId: wrong.id,
        send: () => publisher.structured(names.subject, wrong, { signer: new Signer(newWebhookSecret()) }),
        status: 401,
        reason: /no signature in webhook-signature matches/,
      },
      {
        name: 'binary type changed',
        eventId: tampered.id,
        send: () => publisher.binary(names.subject, tampered, { signer: intake.signer, tamper: { 'ce-type': 'order.cancelled' } }),
        status: 401,
        reason: /no signature in webhook-signature matches/,
      },
    ];
    for (const c of cases) await c.send();

    await expect.poll(async () => (await publisher.stored(names.deadLetterSubject)).length, { timeout: 30_000, interval: 100 }).toBe(cases.length);
    const dead = await publisher.stored(names.deadLetterSubject);
    const kept = await inbox().rejected(50);
    for (const c of cases) {
      const letter = dead.find((d) => d.string().includes(c.eventId) || d.header?.get('ce-id') === c.eventId);
      expect(letter, c.name).toBeDefined();
      const header = (name: string) => natsHeaderValue(letter?.header?.get(name) ?? '');
      expect(header(refusalHeaderNames.status), c.name).toBe(String(c.status));
      expect(header(refusalHeaderNames.reason), c.name).toMatch(c.reason);
      expect(header(refusalHeaderNames.intake), c.name).toBe('nats');
      const row = kept.find((r) => r.intake === 'nats' && keptBodyMentions(r.body, c.eventId));
      expect(row, `${c.name} kept in rejected_requests`).toMatchObject({ statusCode: c.status, intake: 'nats' });
      expect(row?.reason, c.name).toMatch(c.reason);
    }
    // The bytes as sent are what the dead letter holds.
    expect(dead.find((d) => d.string().includes(badJson.id))?.string()).toBe(`{"id":"${badJson.id}",`);
    expect(await engine().ledger.get(tampered.data.refundId)).toBeUndefined();
    expect(await inbox().get(tampered.id)).toBeUndefined();
  });

  it('its consumer deleted, it makes it again and consumes with it', async () => {
    await publisher.jsm.consumers.delete(names.stream, names.consumer);
    await expect.poll(() => intake.logs.some((line) => line.includes('NATS JetStream intake down')), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => intake.logs.some((line) => line.includes('NATS JetStream intake back')), { timeout: 60_000 }).toBe(true);
    expect((await publisher.jsm.consumers.info(names.stream, names.consumer)).config.durable_name).toBe(names.consumer);
    const event = await oenRefundEvent(engine());
    await publisher.structured(names.subject, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
  }, 180_000);

  it('the server killed: /readyz 503 naming the intake and refundflow_intake_up 0 until it is back; then it consumes again', async () => {
    const downBefore = intake.logs.filter((line) => line.includes('NATS JetStream intake down')).length;
    const backBefore = intake.logs.filter((line) => line.includes('NATS JetStream intake back')).length;
    await server.kill();
    await expect.poll(async () => (await fetch(`${intake.url}/readyz`)).status, { timeout: 30_000, interval: 100 }).toBe(503);
    const down = (await (await fetch(`${intake.url}/readyz`)).json()) as { checks: Array<{ name: string; status: string; error?: string }> };
    expect(down.checks.find((c) => c.name === 'intake:nats')).toMatchObject({
      status: 'failing',
      error: expect.stringMatching(/^NATS JetStream \(.*\) down since/) as unknown,
    });
    expect(await gauge(intake)).toBe(0);
    // As Prometheus reads it, from the API's /metrics.
    const viewer = (await new ApiKeys(engine().db).add(`viewer-${randomUUID().slice(0, 8)}`, 'viewer', 'test')).key;
    const scraped = await (await fetch(`${intake.url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } })).text();
    expect(scraped).toMatch(/^refundflow_intake_up\{intake="nats"\} 0$/m);
    expect(scraped).toMatch(/^refundflow_intake_up\{intake="http"\} 1$/m);
    expect(scraped).toMatch(/^refundflow_intake_messages_total\{intake="nats",result="accepted"\} \d+$/m);
    const downLines = () => intake.logs.filter((line) => line.includes('NATS JetStream intake down')).length;
    expect(downLines()).toBe(downBefore + 1);

    await server.startAgain();
    await expect.poll(async () => (await fetch(`${intake.url}/readyz`)).status, { timeout: 60_000, interval: 100 }).toBe(200);
    expect(await gauge(intake)).toBe(1);
    expect(intake.logs.filter((line) => line.includes('NATS JetStream intake back')).length).toBe(backBefore + 1);
    const event = await oenRefundEvent(engine());
    await publisher.binary(names.subject, event, { signer: intake.signer });
    expect(await finalStatus(engine(), event.data.refundId)).toBe('succeeded');
  }, 210_000);
});

async function gauge(intake: IntakeApi): Promise<number | undefined> {
  const metric = await intake.api.intakeMonitor.registry.getSingleMetric('refundflow_intake_up')?.get();
  return metric?.values.find((v) => v.labels.intake === 'nats')?.value;
}

/** A well-formed event that each refusal case breaks one way. */
function baseEvent() {
  return {
    specversion: '1.0',
    id: `evt_${randomUUID()}`,
    source: 'order-management',
    type: 'refund.requested',
    data: { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId: 'ORDER-X', transactionHid: 'P20261125AAAAAAAA', amount: 1000 },
  };
}
