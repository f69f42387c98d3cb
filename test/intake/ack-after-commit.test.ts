import { AckPolicy, StorageType } from '@nats-io/jetstream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventInbox } from '../../src/ledger/inbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret, oenRefundEvent } from '../helpers/api.js';
import { AmqpPublisher, amqpNames, brokerAvailable, NatsPublisher, natsNames, TEST_NATS_URL } from '../helpers/brokers.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { useEngine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { providerRefunds, useIntakeWorker } from './intake-api.js';

/**
 * A message is acknowledged only after the inbox write has committed: the API (a process of its own,
 * on a PostgreSQL ledger, consuming RabbitMQ and NATS) is SIGKILLed while its inbox INSERT of a message
 * from each broker waits on a lock this test holds. Nothing was committed, so nothing was acked: each
 * broker delivers its message again to the API started anew, and each becomes one refund. Were a
 * message acked on receipt (or before the commit), it would be gone with the process, and its refund
 * never made.
 */

const postgres = await postgresAvailable();
const rabbit = await brokerAvailable('rabbitmq');
const nats = await brokerAvailable('nats');
const engine = useEngine('intake-ack-after-commit');
const ledger = usePostgresLedger(postgres);
useIntakeWorker(engine, () => ({ ledger: new RefundLedger(ledger().db) }));

/**
 * How long JetStream waits for an ack before delivering again: shorter than its default 30 s, so that
 * the killed API's message comes back soon, and long enough that it does not come back to the first
 * API while the test counts the two INSERTs waiting on its lock.
 */
const ACK_WAIT_MS = 10_000;

describe.skipIf(!postgres || !rabbit || !nats)('a broker message is acked only after its inbox write committed', () => {
  const amqp = amqpNames('ack');
  const jet = natsNames('ack');
  const secret = newWebhookSecret();
  const signer = new Signer(secret);
  let amqpPublisher: AmqpPublisher;
  let natsPublisher: NatsPublisher;

  beforeAll(async () => {
    amqpPublisher = new AmqpPublisher();
    natsPublisher = await NatsPublisher.connect(TEST_NATS_URL);
    // A consumer made beforehand is taken as it is (here with a short ack wait); the API makes only what is absent.
    await natsPublisher.jsm.streams.add({ name: jet.stream, subjects: [jet.subject], storage: StorageType.File });
    await natsPublisher.jsm.consumers.add(jet.stream, {
      durable_name: jet.consumer,
      ack_policy: AckPolicy.Explicit,
      filter_subject: jet.subject,
      ack_wait: ACK_WAIT_MS * 1_000_000,
    });
  });
  afterAll(async () => {
    await amqpPublisher?.remove(amqp);
    await amqpPublisher?.close();
    await natsPublisher?.remove(jet);
    await natsPublisher?.close();
  });

  async function apiProcess(): Promise<RunningProcess> {
    const [port] = await freePorts(1);
    const { temporal } = engine();
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL'));
    const api = run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
      ...inherited,
      ...temporal.env,
      DATABASE_URL: ledger().url,
      REFUNDS_TASK_QUEUE: temporal.taskQueue,
      INGEST_WEBHOOK_SECRET: secret,
      PORT: String(port),
      ...amqp.env,
      NATS_URL: TEST_NATS_URL,
      ...jet.env,
    });
    await api.waitForOutput(/RabbitMQ intake consuming/, 60_000);
    await api.waitForOutput(/NATS JetStream intake consuming/, 60_000);
    return api;
  }

  // Its waits: two API starts (each up to 2 × 60 s for its intakes), the lock (30 s), the requeue (30 s), two refunds (60 s each).
  it('the API killed while its inbox INSERTs wait: both messages come back, and each makes one refund', async () => {
    const { db, url } = ledger();
    const overRabbit = await oenRefundEvent(engine());
    const overNats = await oenRefundEvent(engine());
    const first = await apiProcess();
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      // Reads go on (the intake's checks before the write); the INSERT of each message waits.
      await locker.query('LOCK TABLE inbox_events IN EXCLUSIVE MODE');
      await amqpPublisher.binary(amqp.queue, overRabbit, { signer });
      await natsPublisher.structured(jet.subject, overNats, { signer });
      await expect
        .poll(
          async () =>
            (await db.query<{ waiting: string }>(`SELECT count(*) AS waiting FROM pg_locks WHERE relation = 'inbox_events'::regclass AND NOT granted`)).rows[0]
              ?.waiting,
          { timeout: 30_000, interval: 50, message: "both messages' inbox INSERTs wait on the lock" },
        )
        .toBe('2');
      first.signalGroup('SIGKILL');
      await first.exited;
    } finally {
      first.signalGroup('SIGKILL');
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    const inbox = new EventInbox(db);
    expect(await inbox.get(overRabbit.id)).toBeUndefined();
    expect(await inbox.get(overNats.id)).toBeUndefined();
    // Unacked, RabbitMQ put it back in the queue when the connection died.
    await expect
      .poll(async () => (await amqpPublisher.connection.queueDeclare({ queue: amqp.queue, passive: true })).messageCount, { timeout: 30_000 })
      .toBe(1);

    const second = await apiProcess();
    const refunds = new RefundLedger(db);
    for (const event of [overRabbit, overNats]) {
      await expect.poll(async () => (await refunds.get(event.data.refundId))?.status, { timeout: 60_000, interval: 200 }).toBe('succeeded');
      expect(await providerRefunds(engine(), event.data.transactionHid)).toHaveLength(1);
    }
    expect(await inbox.get(overRabbit.id)).toMatchObject({ intake: 'amqp' });
    expect(await inbox.get(overNats.id)).toMatchObject({ intake: 'nats' });
    second.signalGroup('SIGTERM');
    await second.exited;
  }, 480_000);
});
