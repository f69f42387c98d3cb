import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Connection, type Consumer } from 'rabbitmq-client';
import type { Signer } from '../../src/webhooks/signing.js';
import { AmqpPublisher, NatsPublisher, OwnNatsServer, OwnRabbitServer } from '../helpers/brokers.js';
import type { SentRefund } from './invariants.js';
import { sendUntilTaken, type OutcomeDelivery } from './processes.js';

/**
 * The chaos run's brokers (issue 27): a RabbitMQ node and a NATS server of the run's own, so that
 * they can be SIGKILLed and started again mid-run. A third of the events go in over each (the rest
 * over HTTP), structured or binary, signed, published 1–3 times like HTTP's duplicate deliveries;
 * the API consumes them and its relay publishes every outcome to an exchange and a subject, which
 * this reads as order management would.
 */
export const chaosBrokerNames = {
  queue: 'refundflow.chaos.events',
  deadLetterExchange: 'refundflow.chaos.events.dead',
  stream: 'CHAOS_EVENTS',
  subject: 'chaos.events',
  consumer: 'refundflow-intake',
  deadLetterSubject: 'chaos.events.dead',
  outcomeExchange: 'refundflow.chaos.outcomes',
  outcomeSubject: 'chaos.outcomes',
  outcomeStream: 'CHAOS_OUTCOMES',
} as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a broker outcome message is read as: its event id, type and refund, and its body for the scans. */
function outcomeOf(body: string): OutcomeDelivery {
  const event = JSON.parse(body) as { id: string; type: string; data: { refundId?: string; subscriptionId?: string } };
  return { id: event.id, type: event.type, refundId: event.data.refundId ?? event.data.subscriptionId ?? '' };
}

export class ChaosBrokers {
  /** Outcome events as they arrived, per broker (a redelivery counts again). */
  readonly outcomes: { amqp: OutcomeDelivery[]; nats: OutcomeDelivery[] } = { amqp: [], nats: [] };
  readonly bodies: string[] = [];
  /** What each broker fault did, for the report. */
  readonly faultsDone: string[] = [];
  private amqp: AmqpPublisher | undefined;
  private nats: NatsPublisher | undefined;
  private outcomeConnection: Connection | undefined;
  private outcomeConsumer: Consumer | undefined;
  private natsReader: { nc: NatsConnection; jsm: JetStreamManager } | undefined;
  private nextNatsSeq = 1;
  /** Per event id, whether it goes in binary mode (else structured). */
  private readonly binaryMode = new Map<string, boolean>();

  private constructor(
    private readonly rabbit: OwnRabbitServer,
    private readonly natsServer: OwnNatsServer,
    private readonly random: () => number,
  ) {}

  static async start(random: () => number): Promise<ChaosBrokers> {
    const [rabbit, natsServer] = await Promise.all([OwnRabbitServer.start(), OwnNatsServer.start()]);
    const brokers = new ChaosBrokers(rabbit, natsServer, random);
    await brokers.connect();
    return brokers;
  }

  /** The API's broker variables: both intakes, both outcome destinations. */
  get env(): Record<string, string> {
    const n = chaosBrokerNames;
    return {
      AMQP_URL: this.rabbit.url,
      AMQP_QUEUE: n.queue,
      AMQP_DEAD_LETTER_EXCHANGE: n.deadLetterExchange,
      NATS_URL: this.natsServer.url,
      NATS_STREAM: n.stream,
      NATS_SUBJECT: n.subject,
      NATS_CONSUMER: n.consumer,
      NATS_DEAD_LETTER_SUBJECT: n.deadLetterSubject,
      OUTCOME_AMQP_EXCHANGE: n.outcomeExchange,
      OUTCOME_NATS_SUBJECT: n.outcomeSubject,
      OUTCOME_NATS_STREAM: n.outcomeStream,
    };
  }

  /**
   * The publishers, and order management's ends of the outcomes. The event queue and stream are
   * made here, before anything is published: a message to a queue nobody declared yet would be
   * confirmed and dropped. The outcome queue (the relay's queue of the exchange's name) is consumed
   * with acks, so a broker killed mid-delivery delivers again; the outcome stream is read by sequence.
   */
  private async connect(): Promise<void> {
    const n = chaosBrokerNames;
    this.amqp = new AmqpPublisher(this.rabbit.url);
    // The client reconnects by itself; a publish while it is away fails and is sent again.
    this.amqp.connection.on('error', () => undefined);
    await this.amqp.connection.queueDeclare({ queue: n.queue, durable: true });
    this.nats = await NatsPublisher.connect(this.natsServer.url);
    await this.nats.jsm.streams.add({ name: n.stream, subjects: [n.subject] });
    await this.nats.jsm.streams.add({ name: n.outcomeStream, subjects: [n.outcomeSubject] });

    this.outcomeConnection = new Connection({ url: this.rabbit.url, connectionName: 'chaos outcome reader' });
    this.outcomeConnection.on('error', () => undefined);
    this.outcomeConsumer = this.outcomeConnection.createConsumer(
      { queue: n.outcomeExchange, queueOptions: { durable: true }, qos: { prefetchCount: 50 } },
      (message) => {
        const body = Buffer.isBuffer(message.body) ? message.body.toString('utf8') : JSON.stringify(message.body);
        this.outcomes.amqp.push(outcomeOf(body));
        this.bodies.push(body);
      },
    );
    this.outcomeConsumer.on('error', () => undefined);
    const nc = await connect({ servers: this.natsServer.url.replace(/^nats:\/\//, ''), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    this.natsReader = { nc, jsm: await jetstreamManager(nc) };
  }

  /** Which way the refund's event goes: a third over RabbitMQ, a third over NATS, the rest over HTTP. */
  transport(): SentRefund['transport'] {
    const x = this.random();
    return x < 1 / 3 ? 'amqp' : x < 2 / 3 ? 'nats' : 'http';
  }

  /**
   * Publishes the event once, structured or binary (chosen per event), signed; publishes again until the broker
   * acknowledges it (confirm / JetStream ack), as a publisher with an outbox of its own would.
   * Counts each acknowledged publish on the refund.
   */
  async publish(r: SentRefund, event: Record<string, unknown> & { id: string }, signer: Signer): Promise<void> {
    // Each copy in the event's own mode, as a publisher sends a message again (in the other mode it
    // would be another content: 409, docs/api.md).
    const binary = this.binaryMode.get(event.id) ?? this.random() < 0.5;
    this.binaryMode.set(event.id, binary);
    // A publish the broker did not acknowledge (down, restarting) is published again.
    const acknowledged = await sendUntilTaken(async () => {
      if (r.transport === 'amqp') {
        const amqp = this.amqp!;
        await (binary ? amqp.binary(chaosBrokerNames.queue, event, { signer }) : amqp.structured(chaosBrokerNames.queue, event, { signer }));
      } else {
        const nats = this.nats!;
        await (binary ? nats.binary(chaosBrokerNames.subject, event, { signer }) : nats.structured(chaosBrokerNames.subject, event, { signer }));
      }
      return true;
    }, this.random);
    // Never acknowledged: not counted as published.
    if (acknowledged) r.acknowledged = (r.acknowledged ?? 0) + 1;
  }

  /** SIGKILLs RabbitMQ, leaves it down `downMs`, starts it again: what it did, for the report. */
  async restartRabbitMq(downMs: number): Promise<string> {
    await this.rabbit.kill();
    await sleep(downMs); // RabbitMQ's outage itself
    const started = Date.now();
    await this.rabbit.startAgain();
    const line = `RabbitMQ SIGKILLed, down ${(downMs / 1000).toFixed(1)} s, back in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    this.faultsDone.push(line);
    return line;
  }

  /** SIGKILLs the NATS server, leaves it down `downMs`, starts it again. */
  async restartNats(downMs: number): Promise<string> {
    await this.natsServer.kill();
    await sleep(downMs); // NATS's outage itself
    await this.natsServer.startAgain();
    const line = `NATS SIGKILLed, down ${(downMs / 1000).toFixed(1)} s`;
    this.faultsDone.push(line);
    return line;
  }

  /** Reads the outcome stream's messages stored since the last read (a server away now is read next time). */
  async readNatsOutcomes(): Promise<void> {
    const reader = this.natsReader;
    if (!reader) return;
    try {
      const info = await reader.jsm.streams.info(chaosBrokerNames.outcomeStream);
      for (; this.nextNatsSeq <= info.state.last_seq; this.nextNatsSeq += 1) {
        const message = await reader.jsm.streams.getMessage(chaosBrokerNames.outcomeStream, { seq: this.nextNatsSeq });
        if (!message) continue;
        const body = message.string();
        this.outcomes.nats.push(outcomeOf(body));
        this.bodies.push(body);
      }
    } catch {
      // the server is restarting: the next read goes on from here
    }
  }

  /** The messages the intakes dead-lettered (none, when every event sent was good). */
  async deadLetters(): Promise<{ amqp: number; nats: number }> {
    const queue = await this.amqp!.connection.queueDeclare({ queue: chaosBrokerNames.deadLetterExchange, passive: true }).catch(() => ({ messageCount: 0 }));
    const stream = await this.natsReader?.jsm.streams.info(`${chaosBrokerNames.stream}_DEAD`).catch(() => undefined);
    return { amqp: queue.messageCount, nats: stream?.state.messages ?? 0 };
  }

  async close(): Promise<void> {
    await this.outcomeConsumer?.close().catch(() => undefined);
    await this.outcomeConnection?.close().catch(() => undefined);
    await this.natsReader?.nc.close().catch(() => undefined);
    await this.amqp?.close().catch(() => undefined);
    await this.nats?.close().catch(() => undefined);
    await Promise.all([this.rabbit.remove(), this.natsServer.remove()]);
  }
}
