import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Connection, ConsumerStatus, type AsyncMessage, type Envelope } from 'rabbitmq-client';
import { routedPublisher } from '../../webhooks/amqp-routed.js';
import { readAmqpMessage } from '../../webhooks/cloudevents-binding.js';
import { contentTypeOf, keepRawBodies } from './amqp-raw-body.js';
import { headerText, withoutPassword, type BrokerIntakeDeps, type RunningIntake } from './intake-deps.js';
import { ackOf, deliveryOf, pause, refusalHeaders, retryDelayMs, type Refusal } from './ack.js';

export interface AmqpIntakeSettings {
  /** AMQP_URL: amqp:// or amqps://, the user and password in it. */
  url: string;
  /** AMQP_QUEUE. */
  queue: string;
  /** AMQP_DEAD_LETTER_EXCHANGE. */
  deadLetterExchange: string;
}

/** Messages handled at once, and held unacknowledged beside them (the rest wait in the queue). */
const CONCURRENCY = 4;
const PREFETCH = 2 * CONCURRENCY;

/**
 * The RabbitMQ intake (docs/api.md, "Events over RabbitMQ and NATS"): consumes AMQP_QUEUE and hands
 * each message to the intake (src/api/intake.ts); acks what the inbox took, publishes what it
 * refused to the dead-letter exchange (publisher confirms, mandatory: a refusal no queue would keep
 * is not acked) and then acks it, and leaves for redelivery, after a backoff, what it could not take.
 * rabbitmq-client reconnects, and sets the consumer up again, by itself.
 */
export function startAmqpIntake(settings: AmqpIntakeSettings, deps: BrokerIntakeDeps): RunningIntake {
  const { url, queue, deadLetterExchange } = settings;
  const { intake, monitor, log, signatureRequired } = deps;
  const where = `queue "${queue}" at ${withoutPassword(url)}`;
  monitor.add('amqp', where);
  const stopping = new AbortController();
  const conn = new Connection({
    url,
    // rabbitmqctl list_connections shows it: an operator (or a test) finds this process's connection by it.
    connectionName: `refundflow intake ${queue} (${hostname()}, pid ${process.pid})`,
    retryLow: 1_000,
    retryHigh: 30_000,
  });
  conn.on('error', (err: unknown) => {
    // The connection's errors are its own (refused, closed by the broker, timed out): the channels'
    // are the consumer's. It reconnects by itself.
    if (!conn.ready && !stopping.signal.aborted) monitor.down('amqp', errorText(err));
  });

  const publisher = routedPublisher(conn);

  async function deadLetter(message: AsyncMessage, body: Buffer, refusal: Refusal): Promise<void> {
    const contentType = contentTypeOf(message);
    const envelope: Envelope = {
      exchange: deadLetterExchange,
      routingKey: queue,
      durable: true,
      headers: { ...message.headers, ...refusalHeaders(refusal, 'amqp') },
      ...(contentType !== undefined && { contentType }),
      ...(message.contentEncoding !== undefined && { contentEncoding: message.contentEncoding }),
      ...(message.messageId !== undefined && { messageId: message.messageId }),
      ...(message.correlationId !== undefined && { correlationId: message.correlationId }),
      ...(message.timestamp !== undefined && { timestamp: message.timestamp }),
      ...(message.type !== undefined && { type: message.type }),
      ...(message.appId !== undefined && { appId: message.appId }),
    };
    if (!(await publisher.send(envelope, body))) {
      throw new Error(
        `the dead-letter exchange "${deadLetterExchange}" routes to no queue, so the refusal would be lost: bind a queue to it (the message stays in "${queue}" until then)`,
      );
    }
  }

  let failuresInARow = 0;
  async function handle(message: AsyncMessage): Promise<ConsumerStatus> {
    try {
      if (!Buffer.isBuffer(message.body)) {
        throw new Error('rabbitmq-client decoded the message body: src/api/brokers/amqp-raw-body.ts no longer fits this version of it');
      }
      const event = readAmqpMessage({ contentType: contentTypeOf(message), headers: message.headers, body: message.body });
      const answer = await intake.take(deliveryOf('amqp', event, message.body, headersOf(message), signatureRequired));
      const ack = ackOf(answer);
      if (ack.kind === 'deadLetter') {
        await deadLetter(message, message.body, ack.refusal);
        log.warn(
          { intake: 'amqp', status: ack.refusal.statusCode },
          `RabbitMQ intake refused a message (${ack.refusal.statusCode}: ${ack.refusal.reason}); kept, and published to the dead-letter exchange "${deadLetterExchange}"`,
        );
        monitor.count('amqp', 'dead_lettered');
      } else {
        monitor.count('amqp', ack.result);
      }
      failuresInARow = 0;
      return ConsumerStatus.ACK;
    } catch (err) {
      failuresInARow += 1;
      monitor.count('amqp', 'failed');
      const delay = retryDelayMs(failuresInARow);
      log.warn({ err, intake: 'amqp' }, `RabbitMQ intake could not take a message; it is delivered again in ${delay / 1000} s: ${errorText(err)}`);
      await pause(delay, stopping.signal);
      return ConsumerStatus.REQUEUE;
    }
  }

  const consumerTag = `refundflow-intake-${randomUUID()}`;
  const stopKeepingRawBodies = keepRawBodies(consumerTag);
  const consumer = conn.createConsumer(
    // Passive: the queue is made (if absent) by ensureTopology, never redeclared with arguments that could differ from an operator's.
    { queue, queueOptions: { passive: true }, qos: { prefetchCount: PREFETCH }, concurrency: CONCURRENCY, consumerTag, requeue: true, lazy: true },
    handle,
  );
  consumer.on('ready', () => monitor.up('amqp'));
  consumer.on('error', (err: unknown) => {
    if (stopping.signal.aborted) return;
    monitor.down('amqp', errorText(err));
    // Cancelled by the server (its queue deleted), or its set-up failed: whatever is absent is made
    // again, as at the start (the client only retries its passive declare, which cannot succeed then).
    void ensureTopology();
  });

  let settingUp: Promise<void> | undefined;
  function ensureTopology(): Promise<void> {
    settingUp ??= (async () => {
      for (let attempt = 1; !stopping.signal.aborted; attempt += 1) {
        try {
          await declareIfAbsent(
            () => conn.queueDeclare({ queue, passive: true }),
            () => conn.queueDeclare({ queue, durable: true }),
          );
          await declareIfAbsent(
            () => conn.exchangeDeclare({ exchange: deadLetterExchange, passive: true }),
            async () => {
              // Made here, it gets a queue of its name: nothing dead-lettered is lost for want of one.
              await conn.exchangeDeclare({ exchange: deadLetterExchange, type: 'fanout', durable: true });
              await conn.queueDeclare({ queue: deadLetterExchange, durable: true });
              await conn.queueBind({ queue: deadLetterExchange, exchange: deadLetterExchange });
            },
          );
          consumer.start();
          return;
        } catch (err) {
          monitor.down('amqp', errorText(err));
          await pause(retryDelayMs(attempt), stopping.signal);
        }
      }
    })().finally(() => {
      settingUp = undefined;
    });
    return settingUp;
  }
  void ensureTopology();

  return {
    intake: 'amqp',
    where,
    async close() {
      stopping.abort();
      await settingUp;
      await consumer.close();
      await publisher.close();
      stopKeepingRawBodies();
      await conn.close();
    },
  };
}

/** A queue or an exchange that exists is left as it is; one that does not is made. */
async function declareIfAbsent(check: () => Promise<unknown>, make: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (err) {
    if (codeOf(err) !== 'NOT_FOUND') throw err;
    await make();
  }
}

/** The headers the intake reads the Standard Webhooks signature from, by lower-case name. */
function headersOf(message: AsyncMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name.toLowerCase()] = text;
  }
  return headers;
}

const codeOf = (err: unknown) => (err as { code?: unknown } | null)?.code;
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
