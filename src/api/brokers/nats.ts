import { hostname } from 'node:os';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { natsHeaderEncode, readNatsMessage } from '../../webhooks/cloudevents-binding.js';
import { withoutPassword, type BrokerIntakeDeps, type RunningIntake } from './intake-deps.js';
import { ackOf, deliveryOf, pause, refusalHeaders, retryDelayMs } from './ack.js';

export interface NatsIntakeSettings {
  /** NATS_URL, split: nats:// or tls:// URLs, a user and password or a token in the first. */
  urls: string[];
  stream: string;
  subject: string;
  consumer: string;
  deadLetterSubject: string;
}

/** Messages handled at once; the consumer holds up to twice as many pulled. */
const CONCURRENCY = 4;
/** How long JetStream waits for the ack of a message it delivered before delivering it again (a consumer made here). */
const ACK_WAIT_MS = 30_000;

/**
 * The NATS JetStream intake (docs/api.md, "Events over RabbitMQ and NATS"): a durable pull consumer
 * with explicit acks. What the inbox took is acked (and the ack confirmed); what the intake refused
 * is published to the dead-letter subject (stored by JetStream before the ack) and acked; what it
 * could not take is nak'd with a backoff, for JetStream to deliver again. The client reconnects by
 * itself, and consuming resumes; when the consumer or its stream is gone, they are made again.
 */
export function startNatsIntake(settings: NatsIntakeSettings, deps: BrokerIntakeDeps): RunningIntake {
  const { stream, subject, consumer: durable, deadLetterSubject } = settings;
  const { intake, monitor, log, signatureRequired } = deps;
  const where = `consumer "${durable}" of stream "${stream}" (subject ${subject}) at ${settings.urls.map(withoutPassword).join(', ')}`;
  monitor.add('nats', where);
  const stopping = new AbortController();
  let connection: NatsConnection | undefined;
  let messages: ConsumerMessages | undefined;
  let failuresInARow = 0;

  async function connected(): Promise<NatsConnection> {
    if (connection && !connection.isClosed()) return connection;
    const nc = await connect(connectionOptions(settings.urls, `refundflow intake ${durable} (${hostname()}, pid ${process.pid})`));
    connection = nc;
    void (async () => {
      for await (const status of nc.status()) {
        if (stopping.signal.aborted) return;
        if (status.type === 'disconnect') monitor.down('nats', `disconnected from ${status.server}`);
        else if (status.type === 'reconnect' && messages) monitor.up('nats');
      }
    })();
    void nc.closed().then((err) => {
      // Closed for good (the client gave up, e.g. refused credentials twice): a new connection is made.
      if (!stopping.signal.aborted) monitor.down('nats', err ? err.message : 'the connection closed');
      messages?.stop();
    });
    return nc;
  }

  async function handle(js: JetStreamClient, message: JsMsg): Promise<void> {
    const data = Buffer.from(message.data);
    const all = message.headers ? [...message.headers] : [];
    const signatureHeaders: Record<string, string> = {};
    for (const [name, values] of all) if (values[0] !== undefined) signatureHeaders[name.toLowerCase()] ??= values[0];
    try {
      const event = readNatsMessage(all, data);
      const answer = await intake.take(deliveryOf('nats', event, data, signatureHeaders, signatureRequired));
      const ack = ackOf(answer);
      if (ack.kind === 'deadLetter') {
        const dead = natsHeaders();
        for (const [name, values] of all) for (const value of values) dead.append(name, value);
        for (const [name, value] of Object.entries(refusalHeaders(ack.refusal, 'nats'))) dead.set(name, natsHeaderEncode(value));
        // The dead-letter stream's duplicate window keeps a second publish of the same message (after a crash before the ack) out.
        await js.publish(deadLetterSubject, message.data, { headers: dead, msgID: `${message.info.stream}-${message.seq}` });
        log.warn(
          { intake: 'nats', status: ack.refusal.statusCode },
          `NATS intake refused a message (${ack.refusal.statusCode}: ${ack.refusal.reason}); kept, and published to ${deadLetterSubject}`,
        );
        monitor.count('nats', 'dead_lettered');
      } else {
        monitor.count('nats', ack.result);
      }
      failuresInARow = 0;
    } catch (err) {
      failuresInARow += 1;
      monitor.count('nats', 'failed');
      const delay = retryDelayMs(failuresInARow);
      log.warn({ err, intake: 'nats' }, `NATS intake could not take a message; it is delivered again in ${delay / 1000} s: ${errorText(err)}`);
      try {
        message.nak(delay);
      } catch (nakErr) {
        // The connection is gone: JetStream delivers it again after its ack wait all the same.
        log.debug({ err: nakErr }, 'NATS intake: a nak was not sent');
      }
      return;
    }
    // Not confirmed (the connection dropped): JetStream delivers it again after its ack wait, and the inbox takes that as the duplicate it is.
    await message.ackAck().catch((err: unknown) => log.debug({ err }, 'NATS intake: an ack was not confirmed; the message may come again'));
  }

  async function consumeOnce(): Promise<void> {
    const nc = await connected();
    await ensureTopology(await jetstreamManager(nc), settings);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(stream, durable);
    const current = await consumer.consume({ max_messages: 2 * CONCURRENCY });
    messages = current;
    let stoppedBecause: string | undefined;
    void (async () => {
      for await (const status of current.status()) {
        if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found' || status.type === 'stream_not_found') {
          stoppedBecause = `the consumer or its stream is gone (${status.type})`;
          current.stop();
        } else if (status.type === 'heartbeats_missed' && status.count >= 3) {
          stoppedBecause = `${status.count} heartbeats of the consumer missed`;
          current.stop();
        }
      }
    })();
    monitor.up('nats');
    const inFlight = new Set<Promise<void>>();
    for await (const message of current) {
      const handled: Promise<void> = handle(js, message).finally(() => inFlight.delete(handled));
      inFlight.add(handled);
      if (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    messages = undefined;
    if (!stopping.signal.aborted) throw new Error(stoppedBecause ?? 'consuming stopped');
  }

  const running = (async () => {
    for (let attempt = 1; !stopping.signal.aborted; attempt += 1) {
      try {
        await consumeOnce();
        attempt = 0;
      } catch (err) {
        if (stopping.signal.aborted) break;
        monitor.down('nats', errorText(err));
      }
      await pause(retryDelayMs(attempt), stopping.signal);
    }
  })();

  return {
    intake: 'nats',
    where,
    async close() {
      stopping.abort();
      messages?.stop();
      await running;
      await connection?.close();
    },
  };
}

/**
 * The stream (capturing the subject), the dead-letter stream (unless a stream captures that subject
 * already) and the durable pull consumer, each made when absent; what exists is left as it is.
 */
async function ensureTopology(jsm: JetStreamManager, settings: NatsIntakeSettings): Promise<void> {
  const { stream, subject, consumer, deadLetterSubject } = settings;
  if (!(await absentIf404(() => jsm.streams.info(stream)))) {
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
  }
  const capturing = await jsm.streams.find(deadLetterSubject).catch(() => '');
  if (capturing === '') await jsm.streams.add({ name: `${stream}_DEAD`, subjects: [deadLetterSubject], storage: StorageType.File });
  if (!(await absentIf404(() => jsm.consumers.info(stream, consumer)))) {
    await jsm.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
      ack_wait: ACK_WAIT_MS * 1_000_000,
    });
  }
}

/** The thing `read` reads, or undefined when JetStream answers that it does not exist. */
async function absentIf404<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    const notFound = [JetStreamApiCodes.StreamNotFound, JetStreamApiCodes.ConsumerNotFound] as number[];
    if (err instanceof JetStreamApiError && notFound.includes(err.code)) return undefined;
    throw err;
  }
}

/**
 * The client's options from NATS_URL: its servers; a user and password, or a token (a user without
 * a password), from the first URL; TLS required when a URL is tls:// (with the system's CAs and
 * NODE_EXTRA_CA_CERTS). It reconnects for ever, every second or so.
 */
export function connectionOptions(urls: string[], name: string): ConnectionOptions {
  const parsed = urls.map((url) => new URL(url));
  const first = parsed[0];
  const user = first ? decodeURIComponent(first.username) : '';
  const pass = first ? decodeURIComponent(first.password) : '';
  return {
    servers: parsed.map((url) => `${url.hostname}:${url.port || '4222'}`),
    name,
    ...(user !== '' && pass !== '' && { user, pass }),
    ...(user !== '' && pass === '' && { token: user }),
    ...(parsed.some((url) => url.protocol === 'tls:') && { tls: {} }),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
