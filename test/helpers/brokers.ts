import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { Connection, type Publisher, type SyncMessage } from 'rabbitmq-client';
import { amqpBinaryProperties, binaryAttributes, binarySignedContent, natsBinaryHeaders, STRUCTURED_JSON } from '../../src/webhooks/cloudevents-binding.js';
import type { Signer } from '../../src/webhooks/signing.js';
import { freePorts } from './ports.js';
import { run, type RunningProcess } from './process.js';

const exec = promisify(execFile);

/**
 * The brokers the intake tests use: this machine's RabbitMQ (127.0.0.1:5672, guest/guest) and NATS
 * with JetStream (127.0.0.1:4222), which a file that uses one starts when it is down
 * (scripts/ensure-brokers.mjs --start; npm test's pre-script only installs them). CI
 * sets REQUIRE_BROKERS=1, so a broker that is not there fails the run; elsewhere its tests are
 * skipped and the run says so. Each test file uses queues, exchanges, streams and subjects of its
 * own (other files use the same brokers at the same time) and deletes them after.
 */
export const TEST_AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

function listening(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(3_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Whether `broker`'s tests run here: this machine's broker started when it is down (one given by
 * TEST_AMQP_URL or TEST_NATS_URL is only checked); throws when CI requires them and it is not there.
 */
export async function brokerAvailable(broker: 'rabbitmq' | 'nats'): Promise<boolean> {
  const given = broker === 'rabbitmq' ? process.env.TEST_AMQP_URL : process.env.TEST_NATS_URL;
  const url = broker === 'rabbitmq' ? TEST_AMQP_URL : TEST_NATS_URL;
  const up = () => listening(url, broker === 'rabbitmq' ? 5672 : 4222);
  if (await up()) return true;
  if (given === undefined) {
    const started = await exec(process.execPath, ['scripts/ensure-brokers.mjs', '--start', broker], { timeout: 120_000 }).then(
      ({ stdout }) => stdout,
      (err: { stdout?: string; stderr?: string; message: string }) => `${err.stdout ?? ''}${err.stderr ?? err.message}`,
    );
    if (await up()) return true;
    console.warn(started.trim());
  }
  const message = `${broker === 'rabbitmq' ? 'RabbitMQ' : 'NATS'} at ${url.replace(/\/\/[^@]*@/, '//…@')} is not listening (node scripts/ensure-brokers.mjs starts it)`;
  if (process.env.REQUIRE_BROKERS === '1') throw new Error(`${message}; REQUIRE_BROKERS=1 makes that a failure`);
  console.warn(`${message}: its intake tests are SKIPPED.`);
  return false;
}

/** The nats-server binary the tests start servers of their own with (Debian's package, as on this machine). */
export const NATS_SERVER = process.env.NATS_SERVER_PATH ?? '/usr/sbin/nats-server';

/** Whether a test may start a nats-server of its own; throws when CI requires it and there is none. */
export function natsServerAvailable(): boolean {
  return ownServerAvailable(NATS_SERVER, 'NATS_SERVER_PATH', 'NATS server');
}

/**
 * Whether the program at `path` (set by `variable`) is there for tests that start a `what` of their
 * own; when not, REQUIRE_BROKERS=1 (CI) makes that a failure, and elsewhere the run says they are skipped.
 */
function ownServerAvailable(path: string, variable: string, what: string): boolean {
  if (existsSync(path)) return true;
  const message = `no ${basename(path)} at ${path} (set ${variable})`;
  if (process.env.REQUIRE_BROKERS === '1') throw new Error(`${message}; REQUIRE_BROKERS=1 makes that a failure`);
  console.warn(`${message}: the tests that start their own ${what} are SKIPPED.`);
  return false;
}

/** A queue and dead-letter exchange of a test file's own, with the environment that points the API at them. */
export function amqpNames(tag: string) {
  const id = randomUUID().slice(0, 8);
  const queue = `refundflow.test.${tag}.${id}`;
  const deadLetterExchange = `${queue}.dead`;
  return { queue, deadLetterExchange, env: { AMQP_URL: TEST_AMQP_URL, AMQP_QUEUE: queue, AMQP_DEAD_LETTER_EXCHANGE: deadLetterExchange } };
}

/** A stream, subject, consumer and dead-letter subject of a test file's own. */
export function natsNames(tag: string) {
  const id = randomUUID().slice(0, 8);
  const stream = `RF_TEST_${tag.toUpperCase().replaceAll('-', '_')}_${id}`;
  const subject = `refundflow.test.${tag}.${id}`;
  const consumer = `intake-${id}`;
  const deadLetterSubject = `${subject}.dead`;
  return {
    stream,
    subject,
    consumer,
    deadLetterSubject,
    env: { NATS_STREAM: stream, NATS_SUBJECT: subject, NATS_CONSUMER: consumer, NATS_DEAD_LETTER_SUBJECT: deadLetterSubject },
  };
}

type Event = Record<string, unknown> & { id: string };

/** Publishes events to RabbitMQ as order management would: structured or binary, signed or not, with publisher confirms. */
export class AmqpPublisher {
  readonly connection: Connection;
  private readonly publisher: Publisher;

  constructor(url = TEST_AMQP_URL) {
    this.connection = new Connection({ url, connectionName: `refundflow test publisher ${randomUUID()}` });
    this.publisher = this.connection.createPublisher({ confirm: true });
  }

  /** The whole event as the body, content type application/cloudevents+json; `body` sends other bytes instead. */
  async structured(queue: string, event: Event, options: { signer?: Signer; body?: string; headers?: Record<string, string> } = {}): Promise<void> {
    const body = options.body ?? JSON.stringify(event);
    await this.publisher.send(
      { routingKey: queue, durable: true, contentType: STRUCTURED_JSON, headers: { ...options.signer?.sign(event.id, body), ...options.headers } },
      Buffer.from(body),
    );
  }

  /** Binary mode: attributes as cloudEvents_ headers, data as the body; signed over binary mode's signed content. `tamper` changes headers after signing. */
  async binary(queue: string, event: Event, options: { signer?: Signer; tamper?: Record<string, string>; data?: string } = {}): Promise<void> {
    const data = Buffer.from(options.data ?? JSON.stringify(event.data));
    const { contentType, headers } = amqpBinaryProperties(event);
    const signature = options.signer?.sign(event.id, binarySignedContent(binaryAttributes(event), data).toString('utf8'));
    await this.publisher.send({ routingKey: queue, durable: true, contentType, headers: { ...headers, ...signature, ...options.tamper } }, data);
  }

  /** The next message in `queue` (a dead-letter queue), undefined when it is empty. */
  async get(queue: string): Promise<SyncMessage | undefined> {
    return this.connection.basicGet({ queue, noAck: true });
  }

  /** Removes what a test file made: its queue, its dead-letter exchange and that exchange's queue. */
  async remove(names: { queue: string; deadLetterExchange: string }): Promise<void> {
    await this.connection.queueDelete({ queue: names.queue }).catch(() => undefined);
    await this.connection.queueDelete({ queue: names.deadLetterExchange }).catch(() => undefined);
    await this.connection.exchangeDelete({ exchange: names.deadLetterExchange }).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.publisher.close();
    await this.connection.close();
  }
}

/**
 * Closes, from the server's side, the connection of the API whose intake consumes `queue` (its
 * connection name says so, src/api/brokers/amqp.ts), as a broker restart or a network cut would:
 * the shared server stays up for the other test files.
 */
export async function closeIntakeConnection(queue: string): Promise<void> {
  const { stdout } = await exec('rabbitmqctl', ['list_connections', '--quiet', '--no-table-headers', 'pid', 'client_properties']);
  const line = stdout.split('\n').find((l) => l.includes(`refundflow intake ${queue} (`));
  const pid = line?.split('\t')[0];
  if (!pid) throw new Error(`no RabbitMQ connection of the intake of ${queue} in:\n${stdout}`);
  await exec('rabbitmqctl', ['close_connection', pid, 'closed by a refundflow test']);
}

/** Publishes events to JetStream as order management would, and reads what was dead-lettered. */
export class NatsPublisher {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  static async connect(servers: string): Promise<NatsPublisher> {
    const nc = await connect({ servers: servers.replace(/^nats:\/\//, ''), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    return new NatsPublisher(nc, jetstream(nc), await jetstreamManager(nc));
  }

  /** Structured mode: Content-Type application/cloudevents+json, the whole event as the payload. */
  async structured(subject: string, event: Event, options: { signer?: Signer; body?: string; msgID?: string } = {}): Promise<void> {
    const body = options.body ?? JSON.stringify(event);
    const h = natsHeaders();
    h.set('Content-Type', STRUCTURED_JSON);
    for (const [name, value] of Object.entries(options.signer?.sign(event.id, body) ?? {})) h.set(name, value);
    await this.js.publish(subject, body, { headers: h, ...(options.msgID !== undefined && { msgID: options.msgID }) });
  }

  /** Binary mode: attributes as ce- headers (percent-encoded), data as the payload; `tamper` changes headers after signing. */
  async binary(subject: string, event: Event, options: { signer?: Signer; tamper?: Record<string, string>; data?: string } = {}): Promise<void> {
    const data = Buffer.from(options.data ?? JSON.stringify(event.data));
    const h = natsHeaders();
    const signature = options.signer?.sign(event.id, binarySignedContent(binaryAttributes(event), data).toString('utf8'));
    for (const [name, value] of Object.entries({ ...natsBinaryHeaders(event), ...signature, ...options.tamper })) h.set(name, value);
    await this.js.publish(subject, data, { headers: h });
  }

  /** Every message stored under `subject` in the stream that captures it, first to last. */
  async stored(subject: string): Promise<StoredMsg[]> {
    const stream = await this.jsm.streams.find(subject);
    const info = await this.jsm.streams.info(stream);
    const found: StoredMsg[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
      const message = await this.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message?.subject === subject) found.push(message);
    }
    return found;
  }

  /** Removes a test file's streams (the events' and the dead letters'). */
  async remove(names: { stream: string }): Promise<void> {
    for (const stream of [names.stream, `${names.stream}_DEAD`]) await this.jsm.streams.delete(stream).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** A NATS server of a test's own (JetStream, its store in a temporary directory), to stop and start again. */
/** A broker of a test's own, in a process group of its own, its store in a temporary directory. */
abstract class OwnServer {
  protected process: RunningProcess | undefined;
  protected readonly dir: string;

  protected constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Starts it (again, on the same ports and store), once it says it is ready. */
  abstract startAgain(): Promise<void>;

  /** SIGKILLs it, as a crash would, and waits until it is gone. */
  async kill(): Promise<void> {
    this.process?.signalGroup('SIGKILL');
    await this.process?.exited;
  }

  /** Kills it for good and removes its store. */
  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class OwnNatsServer extends OwnServer {
  private constructor(readonly port: number) {
    super('refundflow-nats-');
  }

  static async start(): Promise<OwnNatsServer> {
    const [port] = await freePorts(1);
    const server = new OwnNatsServer(port ?? 0);
    await server.startAgain();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port and store), once it says it is ready for connections. */
  async startAgain(): Promise<void> {
    this.process = run(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir], { ...process.env });
    await this.process.waitForOutput(/Server is ready/, 30_000);
  }
}

/** The RabbitMQ server script itself (Debian's package), which runs a node in the foreground. */
export const RABBITMQ_SERVER = process.env.RABBITMQ_SERVER_PATH ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** Whether a test may start a RabbitMQ node of its own; throws when CI requires it and there is none. */
export function rabbitServerAvailable(): boolean {
  return ownServerAvailable(RABBITMQ_SERVER, 'RABBITMQ_SERVER_PATH', 'RabbitMQ node');
}

/**
 * A RabbitMQ node of a run's own (its own name, ports, Mnesia and log directories, no plugins), to
 * SIGKILL and start again without touching the machine's RabbitMQ that the test files share.
 * Its durable queues and confirmed persistent messages survive a kill, as on any node.
 */
export class OwnRabbitServer extends OwnServer {
  private constructor(
    readonly port: number,
    private readonly distributionPort: number,
  ) {
    super('refundflow-rabbitmq-');
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users.guest = true\n`);
    writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
    // Not the machine's /etc/rabbitmq/rabbitmq-env.conf, whose NODENAME is the shared node's.
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '');
  }

  static async start(): Promise<OwnRabbitServer> {
    const [port, distributionPort] = await freePorts(2);
    const server = new OwnRabbitServer(port ?? 0, distributionPort ?? 0);
    await server.startAgain();
    return server;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same ports and store), once it says the broker has started. */
  async startAgain(): Promise<void> {
    const dir = this.dir;
    this.process = run(
      RABBITMQ_SERVER,
      [],
      {
        ...process.env,
        HOME: dir,
        RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
        RABBITMQ_NODENAME: `refundflow-${this.port}@localhost`,
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_DIST_PORT: String(this.distributionPort),
        ERL_EPMD_ADDRESS: '127.0.0.1',
      },
      dir,
    );
    await this.process.waitForOutput(/Starting broker\.\.\. completed/, 120_000);
  }
}
