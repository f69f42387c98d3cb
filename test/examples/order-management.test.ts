import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { newWebhookSecret } from '../helpers/api.js';
import { AmqpPublisher, amqpNames, brokerAvailable, NatsPublisher, natsNames, TEST_AMQP_URL, TEST_NATS_URL } from '../helpers/brokers.js';
import { useEngine } from '../helpers/engine.js';
import { run } from '../helpers/process.js';
import { admin } from '../helpers/sandbox.js';
import { providerRefunds, startIntakeApi, useIntakeWorker, type IntakeApi } from '../intake/intake-api.js';

/**
 * examples/order-management, run as a user would run it (its own process, `npx tsx`-style), against
 * the API with both broker intakes and both broker outcome destinations on: a refund it publishes
 * reaches the provider once, and the outcome it hears on the broker is the one it then finds in
 * GET /v1/outcomes after the cursor it kept.
 */

const rabbit = await brokerAvailable('rabbitmq');
const nats = await brokerAvailable('nats');
const engine = useEngine('example-order-management');
useIntakeWorker(engine);

describe.runIf(rabbit && nats)('the example order-management service', () => {
  const amqp = amqpNames('example');
  const events = natsNames('example');
  const tag = randomUUID().slice(0, 8);
  const outcomes = {
    exchange: `refundflow.test.example-outcomes.${tag}`,
    subject: `refundflow.test.example-outcomes.${tag}`,
    stream: `RF_TEST_EXAMPLE_OUTCOMES_${tag}`,
  };
  const outcomeSecret = newWebhookSecret();
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-example-'));
  let intake: IntakeApi;
  let token: string;

  beforeAll(async () => {
    intake = await startIntakeApi(
      engine(),
      {
        ...amqp.env,
        NATS_URL: TEST_NATS_URL,
        ...events.env,
        OUTCOME_AMQP_EXCHANGE: outcomes.exchange,
        OUTCOME_NATS_SUBJECT: outcomes.subject,
        OUTCOME_NATS_STREAM: outcomes.stream,
        OUTCOME_WEBHOOK_SECRET: outcomeSecret,
      },
      { waitFor: ['amqp', 'nats'] },
    );
    token = (await new ApiKeys(engine().db).add(`example-${tag}`, 'viewer', 'test')).key;
  });
  afterAll(async () => {
    await intake?.close();
    const rabbitAdmin = new AmqpPublisher();
    await rabbitAdmin.remove(amqp);
    await rabbitAdmin.connection.queueDelete({ queue: outcomes.exchange }).catch(() => undefined);
    await rabbitAdmin.connection.exchangeDelete({ exchange: outcomes.exchange }).catch(() => undefined);
    await rabbitAdmin.close();
    const natsAdmin = await NatsPublisher.connect(TEST_NATS_URL);
    await natsAdmin.remove(events);
    await natsAdmin.remove({ stream: outcomes.stream });
    await natsAdmin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['amqp', 'nats'] as const)(
    'over %s: publishes a signed refund.requested, hears its outcome on the broker, and finds the same event in the stream after its cursor',
    async (broker) => {
      const transactionHid = randomHid();
      const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
      await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 500 }] });
      const refundId = `RF-EX-${randomUUID().slice(0, 8)}`;
      const example = run(
        process.execPath,
        [
          '--import',
          'tsx',
          'examples/order-management/main.ts',
          '--broker',
          broker,
          '--order',
          orderId,
          '--transaction',
          transactionHid,
          '--amount',
          '500',
          '--refund-id',
          refundId,
        ],
        {
          ...process.env,
          AMQP_URL: TEST_AMQP_URL,
          AMQP_QUEUE: amqp.queue,
          OUTCOME_AMQP_EXCHANGE: outcomes.exchange,
          NATS_URL: TEST_NATS_URL,
          NATS_SUBJECT: events.subject,
          OUTCOME_NATS_SUBJECT: outcomes.subject,
          OUTCOME_NATS_STREAM: outcomes.stream,
          INGEST_WEBHOOK_SECRET: intake.secret,
          OUTCOME_WEBHOOK_SECRET: outcomeSecret,
          REFUNDFLOW_API_URL: intake.url,
          REFUNDFLOW_TOKEN: token,
          CURSOR_FILE: join(dir, `${broker}.cursor`),
        },
      );
      expect(await example.exited, example.output()).toBe(0);
      const output = example.output();
      expect(output).toMatch(new RegExp(`published refund.requested evt_\\S+ for ${refundId} to ${broker}`));
      const heard = new RegExp(`from ${broker}: refund.succeeded (${refundId}\\.succeeded\\.\\d+)`).exec(output)?.[1];
      expect(heard, output).toBeDefined();
      expect(output).toContain(`: refund.succeeded ${heard}`);
      expect(output).toMatch(/from the stream \(after cursor \d+, now \d+\)/);
      expect(await providerRefunds(engine(), transactionHid)).toHaveLength(1);
      expect((await engine().ledger.get(refundId))?.status).toBe('succeeded');
    },
    120_000,
  );
});
