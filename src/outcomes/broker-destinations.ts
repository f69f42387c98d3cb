import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { Connection } from 'rabbitmq-client';
import { routedPublisher } from '../webhooks/amqp-routed.js';
import { Signer } from '../webhooks/signing.js';
import type { OutcomeDestination } from './destinations.js';

/** The content type of every broker message the relay publishes: the CloudEvents structured mode. */
const STRUCTURED = 'application/cloudevents+json';

/** The Standard Webhooks headers, when OUTCOME_WEBHOOK_SECRET is set: a broker consumer checks them as the webhook's receiver does. */
const signatureHeaders = (signer: Signer | undefined, eventId: string, body: string): Record<string, string> => (signer ? signer.sign(eventId, body) : {});

/**
 * Publishes each outcome event to a RabbitMQ topic exchange (OUTCOME_AMQP_EXCHANGE) in structured
 * mode, routing key = the event's type (`refund.succeeded`, …), persistent, `messageId` = the event
 * id. The exchange, and a durable queue of the same name bound to it with `#` (so that nothing is
 * lost before order management binds its own), are declared when absent. A publish counts as
 * delivered only when the broker confirms it and did not return it as unroutable.
 */
export function amqpDestination(settings: { url: string; exchange: string; secret?: string | undefined }): OutcomeDestination {
  const connection = new Connection({ url: settings.url, connectionName: 'refundflow outcome relay' });
  // The client reconnects by itself; a publish while it is away fails, and the relay sends it again.
  connection.on('error', () => undefined);
  const publisher = routedPublisher(connection, {
    exchanges: [{ exchange: settings.exchange, type: 'topic', durable: true }],
    queues: [{ queue: settings.exchange, durable: true }],
    queueBindings: [{ queue: settings.exchange, exchange: settings.exchange, routingKey: '#' }],
  });
  const signer = settings.secret ? new Signer(settings.secret) : undefined;
  return {
    name: 'amqp',
    async send(event, body) {
      const taken = await publisher.send(
        {
          exchange: settings.exchange,
          routingKey: event.type,
          durable: true,
          contentType: STRUCTURED,
          messageId: event.id,
          headers: signatureHeaders(signer, event.id, body),
        },
        Buffer.from(body, 'utf8'),
      );
      if (!taken) throw new Error(`RabbitMQ returned it: no queue is bound to exchange "${settings.exchange}" for ${event.type}`);
    },
    async close() {
      await publisher.close();
      await connection.close();
    },
  };
}

/**
 * Publishes each outcome event to a NATS JetStream subject (OUTCOME_NATS_SUBJECT) in structured
 * mode, with `Nats-Msg-Id` = the event id, so the stream drops a copy sent again within its
 * duplicate window. The stream (OUTCOME_NATS_STREAM) capturing the subject is made when absent. A
 * publish counts as delivered when JetStream acknowledges it (stored).
 */
export function natsDestination(settings: { servers: string; subject: string; stream: string; secret?: string | undefined }): OutcomeDestination {
  let ready: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  const signer = settings.secret ? new Signer(settings.secret) : undefined;
  const open = async () => {
    const nc = await connect({ servers: settings.servers.split(','), name: 'refundflow outcome relay', maxReconnectAttempts: -1 });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(settings.stream);
    } catch {
      await jsm.streams.add({ name: settings.stream, subjects: [settings.subject] });
    }
    return { nc, js: jetstream(nc) };
  };
  return {
    name: 'nats',
    async send(event, body) {
      // Connected on first use, and again after a failed first connection.
      ready ??= open().catch((err: unknown) => {
        ready = undefined;
        throw err;
      });
      const { js } = await ready;
      const h = natsHeaders();
      h.set('Content-Type', STRUCTURED);
      for (const [name, value] of Object.entries(signatureHeaders(signer, event.id, body))) h.set(name, value);
      await js.publish(settings.subject, body, { msgID: event.id, headers: h, timeout: 10_000 });
    },
    async close() {
      const opened = await ready?.catch(() => undefined);
      await opened?.nc.drain();
    },
  };
}
