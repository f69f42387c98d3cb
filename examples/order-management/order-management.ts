/**
 * An order-management service as refundflow sees one, in a page: it publishes `refund.requested`
 * CloudEvents to RabbitMQ or NATS JetStream, hears how each refund ended from the broker, and, after
 * being down, catches up from refundflow's outcome stream (GET /v1/outcomes) with the cursor it kept.
 *
 * It uses only the brokers' and Standard Webhooks' own client libraries — nothing of refundflow's
 * code — so that it reads as what another team would write (examples/order-management/README.md).
 */
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { Connection } from 'rabbitmq-client';
import { Webhook } from 'standardwebhooks';

/** The CloudEvents JSON event format: the structured mode of both brokers' bindings. */
const STRUCTURED = 'application/cloudevents+json';

export type Broker =
  | { kind: 'amqp'; url: string; queue: string; outcomeExchange: string }
  | { kind: 'nats'; servers: string; subject: string; outcomeSubject: string; outcomeStream: string };

export interface RefundRequest {
  refundId: string;
  provider: 'oen';
  orderId: string;
  transactionHid: string;
  amount: number;
  reason?: string;
}

/** An outcome event as refundflow sends it (docs/api.md, "Outcome events"). */
export interface OutcomeEvent {
  id: string;
  type: string;
  time: string;
  data: { refundId?: string; status?: string; [field: string]: unknown };
}

/** The three Standard Webhooks headers over `body`, when there is a secret to sign with. */
function signed(secret: string | undefined, id: string, body: string): Record<string, string> {
  if (!secret) return {};
  const at = new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

/** Checks an outcome's signature (OUTCOME_WEBHOOK_SECRET), when there is a secret; throws when it does not match. */
function verified(secret: string | undefined, body: string, headers: Record<string, string>): OutcomeEvent {
  if (secret) new Webhook(secret).verify(body, headers);
  return JSON.parse(body) as OutcomeEvent;
}

/** Publishes one `refund.requested` (structured mode, signed when `secret` is given); answers the event id. */
export async function requestRefund(broker: Broker, request: RefundRequest, secret?: string): Promise<string> {
  const id = `evt_${randomUUID()}`;
  const body = JSON.stringify({
    specversion: '1.0',
    id,
    source: 'example-order-management',
    type: 'refund.requested',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: request,
  });
  if (broker.kind === 'amqp') {
    const connection = new Connection(broker.url);
    const publisher = connection.createPublisher({ confirm: true });
    try {
      // Straight to refundflow's queue (the default exchange routes by queue name), persistent.
      await publisher.send(
        { routingKey: broker.queue, durable: true, contentType: STRUCTURED, messageId: id, headers: signed(secret, id, body) },
        Buffer.from(body),
      );
    } finally {
      await publisher.close();
      await connection.close();
    }
    return id;
  }
  const nc = await connect({ servers: broker.servers.split(',') });
  try {
    const h = natsHeaders();
    h.set('Content-Type', STRUCTURED);
    for (const [name, value] of Object.entries(signed(secret, id, body))) h.set(name, value);
    // Nats-Msg-Id: a publish sent again after a lost acknowledgement is kept once.
    await jetstream(nc).publish(broker.subject, body, { headers: h, msgID: id });
  } finally {
    await nc.close();
  }
  return id;
}

/**
 * Listens for outcome events on the broker until `until` says it has what it waited for (or
 * `timeoutMs` passes). It declares what it reads from, as a consumer should (the same declarations
 * refundflow makes, so either may come first): on RabbitMQ the topic exchange OUTCOME_AMQP_EXCHANGE
 * and the durable queue of its name bound with `#`; on NATS the stream OUTCOME_NATS_STREAM over
 * OUTCOME_NATS_SUBJECT, read through an ephemeral consumer from the start. Each event is
 * acknowledged once handled.
 */
export async function outcomesFromBroker(
  broker: Broker,
  until: (event: OutcomeEvent) => boolean,
  secret?: string,
  timeoutMs = 60_000,
): Promise<OutcomeEvent[]> {
  const seen: OutcomeEvent[] = [];
  if (broker.kind === 'amqp') {
    const connection = new Connection(broker.url);
    const queue = broker.outcomeExchange;
    try {
      await connection.exchangeDeclare({ exchange: broker.outcomeExchange, type: 'topic', durable: true });
      await connection.queueDeclare({ queue, durable: true });
      await connection.queueBind({ queue, exchange: broker.outcomeExchange, routingKey: '#' });
      return await new Promise<OutcomeEvent[]>((resolve, reject) => {
        const stop = (err: Error) => {
          clearTimeout(timer);
          void consumer.close().finally(() => reject(err));
        };
        const timer = setTimeout(() => stop(new Error(`no outcome it waited for within ${timeoutMs} ms`)), timeoutMs);
        const consumer = connection.createConsumer({ queue, queueOptions: { passive: true } }, (message) => {
          const body = Buffer.isBuffer(message.body) ? message.body.toString('utf8') : JSON.stringify(message.body);
          const event = verified(secret, body, message.headers ?? {});
          seen.push(event);
          if (until(event)) {
            clearTimeout(timer);
            void consumer.close().then(() => resolve(seen));
          }
        });
        consumer.on('error', (err: unknown) => stop(err instanceof Error ? err : new Error(String(err))));
      });
    } finally {
      await connection.close();
    }
  }
  const nc = await connect({ servers: broker.servers.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.info(broker.outcomeStream).catch(() => jsm.streams.add({ name: broker.outcomeStream, subjects: [broker.outcomeSubject] }));
    const info = await jsm.consumers.add(broker.outcomeStream, { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const consumer = await jetstream(nc).consumers.get(broker.outcomeStream, info.name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const message = await consumer.next({ expires: 1_000 });
      if (!message) continue;
      const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, message.headers?.get(h) ?? '']));
      const event = verified(secret, message.string(), headers);
      message.ack();
      seen.push(event);
      if (until(event)) return seen;
    }
    throw new Error(`no outcome it waited for within ${timeoutMs} ms`);
  } finally {
    await nc.close();
  }
}

/**
 * Reads refundflow's outcome stream after `cursor` (the last one this service processed, kept
 * wherever it keeps its own state) to its end: what it missed while it was down. Answers the events
 * and the cursor to keep.
 */
export async function outcomesFromStream(apiUrl: string, token: string, cursor = '0'): Promise<{ events: OutcomeEvent[]; cursor: string }> {
  const events: OutcomeEvent[] = [];
  for (;;) {
    const response = await fetch(`${apiUrl}/v1/outcomes?after=${cursor}&limit=100`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET /v1/outcomes answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { outcomes: Array<{ cursor: string; event: OutcomeEvent }>; next: string };
    events.push(...page.outcomes.map((o) => o.event));
    cursor = page.next;
    if (page.outcomes.length < 100) return { events, cursor };
  }
}
