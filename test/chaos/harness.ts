import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signer } from '../../src/webhooks/signing.js';
import { postgresDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { SANDBOX_OEN_MERCHANT_ID } from '../../src/sandbox/index.js';
import type { SandboxRefundRequest } from '../../src/sandbox/server.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { postgresSchema } from '../helpers/databases.js';
import { freePorts } from '../helpers/ports.js';
import { admin, sandboxRefunds } from '../helpers/sandbox.js';
import { startTemporalUnderTest, type TemporalKind } from '../helpers/temporal-under-test.js';
import { newSigningKey } from '../../src/domain/decision-proof.js';
import { ChaosBrokers } from './brokers.js';
import { checkInvariants, type ChaosReport, type LedgerRow, type OutboxRow, type SentRefund } from './invariants.js';
import { OutcomeReceiver, Supervised, seededRandom, sendUntilTaken } from './processes.js';
import { resolveSome } from './resolves.js';
import { scanForLeaks } from './scans.js';

/**
 * The chaos run (issue 7, in the manner of Jepsen's bank test): the whole engine as real processes —
 * a Temporal (the dev server on a SQLite file, or the production-shaped cluster on PostgreSQL with
 * mutual TLS), the sandbox emulators, worker processes and the API on a PostgreSQL ledger — takes N
 * refunds through POST /v1/events while the emulators inject faults, workers are SIGKILLed and
 * restarted at random, the API is killed once while events come in and once more (its outcome relay
 * with it) while outcomes go out, and Temporal is hurt: the dev server restarted once, or a
 * cluster's history host SIGKILLed and its frontend restarted. With `brokers`, two thirds of the
 * events come over RabbitMQ and NATS instead, each broker is SIGKILLed and started again midway,
 * and every outcome goes to both besides the webhook. Then the invariants are checked against what
 * the emulators actually did and what each destination actually got.
 */
export interface ChaosOptions {
  refunds: number;
  seed: number;
  /** Events in flight at once. */
  concurrency: number;
  workers: number;
  /** How long after the last event the engine gets to settle every refund. */
  drainTimeoutMs: number;
  /** The dev server (a restart midway), or the production-shaped cluster (a history host SIGKILLed, the frontend restarted). */
  temporal?: TemporalKind;
  /** Events over RabbitMQ and NATS too, and outcomes to both, with each broker restarted midway (test/chaos/brokers.ts). */
  brokers?: boolean;
  log: (line: string) => void;
}

/**
 * The fault mix: the providers' own failures, answers lost after the provider acted, and what a
 * gateway in front of them answers — a 504 HTML page after the refund was carried out, a 200 HTML
 * maintenance page instead of Oen's list, a 429 from a rate limiter.
 */
const faults = {
  oen: {
    refund: { f0001: 0.2, http500: 0.1, commitThenDrop: 0.05, hang: 0.02, gateway504AfterCommit: 0.03, http429: 0.03, latencyMs: 20 },
    listTransactions: { http500: 0.05, htmlMaintenance: 0.05, http429: 0.02, latencyMs: 10 },
  },
  mwd: { refund: { http500: 0.1, commitThenDrop: 0.05, hang: 0.02, gateway504AfterCommit: 0.03, http429: 0.03, latencyMs: 20 } },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const random = seededRandom(options.seed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min));
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-chaos-'));
  const schema = await postgresSchema();
  const db: Database = postgresDatabase(schema.url);
  await migrate(db);

  const [oenPort, mwdPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const webhookSecret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;
  const outcomeSecret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;
  // Tokens of their own (not the emulators' default), so the secret scan can look for them.
  const oenToken = `oen-${randomUUID()}`;
  const mwdToken = `mwd-${randomUUID()}`;
  // The API signs each resolution with it; the workers check with its public half.
  const signingKey = newSigningKey();
  const receiver = new OutcomeReceiver(outcomeSecret, 0.1, random);
  await receiver.start();
  const brokers = options.brokers ? await ChaosBrokers.start(random) : undefined;
  // Every place an outcome event goes, with what it got there.
  const destinations = () => [
    { name: 'webhook', deliveries: receiver.deliveries },
    ...(brokers
      ? [
          { name: 'RabbitMQ', deliveries: brokers.outcomes.amqp },
          { name: 'NATS', deliveries: brokers.outcomes.nats },
        ]
      : []),
  ];

  const temporal = await startTemporalUnderTest(options.temporal ?? 'dev', dataDir, log, { random });
  const env = {
    ...process.env,
    ...temporal.env,
    DATABASE_URL: schema.url,
    OEN_BASE_URL: `http://127.0.0.1:${oenPort}`,
    OEN_TOKEN: oenToken,
    OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
    MWD_BASE_URL: `http://127.0.0.1:${mwdPort}`,
    MWD_TOKEN: mwdToken,
    OUTCOME_WEBHOOK_URL: receiver.url,
    OUTCOME_WEBHOOK_SECRET: outcomeSecret,
    // The emulators and the receiver listen on loopback without TLS.
    ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,MWD_BASE_URL,OUTCOME_WEBHOOK_URL',
    INGEST_WEBHOOK_SECRET: webhookSecret,
    OPERATOR_SIGNING_KEY: signingKey,
    PORT: String(apiPort),
    METRICS_ADDRESS: 'off',
    // Long enough for most faults to pass, short enough that a run always ends.
    PROVIDER_RETRY_WINDOW_SECONDS: '60',
    SANDBOX_OEN_PORT: String(oenPort),
    SANDBOX_MWD_PORT: String(mwdPort),
    ...brokers?.env,
  };
  const sandbox = new Supervised('sandbox', ['src/sandbox/main.ts'], env, /Press Ctrl-C to stop/);
  const workers = Array.from({ length: options.workers }, (_, i) => new Supervised(`worker-${i + 1}`, ['src/worker.ts'], env, /Worker polling/));
  const api = new Supervised('api', ['src/api/main.ts'], env, /API listening/);
  const oenUrl = env.OEN_BASE_URL;
  const mwdUrl = env.MWD_BASE_URL;

  const temporalFaults: string[] = [];
  let stopChaos = false;
  try {
    await sandbox.start();
    await Promise.all([...workers.map((w) => w.start()), api.start()]);

    // The refunds: half Oen card transactions, half MWD orders, seeded before the faults go on.
    const cardToken = `tok-chaos-${randomUUID()}`;
    const refunds: SentRefund[] = Array.from({ length: options.refunds }, (_, i) => {
      const provider = random() < 0.5 ? 'oen' : 'mwd';
      const amount = between(100, 5000);
      const refundId = `RF-CHAOS-${options.seed}-${i}`;
      const sent = { amount, deliveries: between(1, 4), transport: brokers?.transport() ?? 'http', answers: [] };
      return provider === 'oen'
        ? { refundId, provider, reference: randomHid(), orderId: `CHAOS-${options.seed}-${i}`, ...sent }
        : { refundId, provider, reference: `CHAOS-${options.seed}-M${i}`, orderId: '', ...sent };
    });
    for (const r of refunds) if (r.provider === 'mwd') r.orderId = r.reference;
    // A tenth of the refunds carry a card number in their free text, as a careless sender's would:
    // the card-number scan then has something to find if the engine let one through.
    const reasons = new Map(refunds.filter(() => random() < 0.1).map((r) => [r.refundId, `chaos: customer's card 4242 4242 4242 4242 (${r.refundId})`]));
    await admin(oenUrl, 'POST', 'seed', {
      transactions: refunds.filter((r) => r.provider === 'oen').map((r) => ({ id: r.reference, orderId: r.orderId, amount: r.amount })),
    });
    await admin(mwdUrl, 'POST', 'seed', {
      orders: refunds.filter((r) => r.provider === 'mwd').map((r) => ({ orderId: r.orderId, cardToken, amount: r.amount })),
    });
    await admin(oenUrl, 'PUT', 'faults', faults.oen);
    await admin(mwdUrl, 'PUT', 'faults', faults.mwd);
    // MWD's document does not say it refuses a second refund: here it carries one out, so a double
    // send is a double refund, as it may be in reality.
    await admin(mwdUrl, 'PUT', 'options', { refuseSecondRefund: false });
    log(
      `chaos: ${refunds.length} refunds (${refunds.filter((r) => r.provider === 'oen').length} Oen, ` +
        `${refunds.filter((r) => r.provider === 'mwd').length} MWD), seed ${options.seed}, ${options.workers} workers` +
        (brokers
          ? `; over RabbitMQ ${refunds.filter((r) => r.transport === 'amqp').length}, NATS ${refunds.filter((r) => r.transport === 'nats').length}`
          : ''),
    );

    // Chaos: workers killed at random while the run lasts; anything that left on its own is restarted.
    let sent = 0;
    const chaos = (async () => {
      while (!stopChaos) {
        await sleep(between(2_000, 6_000)); // the time between kills: the chaos itself, not a wait
        if (stopChaos) break;
        const victim = workers[between(0, workers.length)];
        await victim?.kill();
        await sleep(between(200, 1_500)); // how long the killed worker stays down: the outage itself
        await Promise.all([...workers, api, sandbox].map((p) => p.ensureRunning().catch(() => undefined)));
      }
    })();
    const milestones = (async () => {
      while (sent < refunds.length * 0.3 && !stopChaos) await sleep(200);
      log('chaos: killing the API');
      await api.kill();
      await api.ensureRunning();
      // Each broker SIGKILLed while events come in and outcomes go out, down a few seconds.
      if (brokers) {
        while (sent < refunds.length * 0.4 && !stopChaos) await sleep(200);
        log(`chaos: ${await brokers.restartRabbitMq(between(2_000, 6_000))}`);
        while (sent < refunds.length * 0.5 && !stopChaos) await sleep(200);
        log(`chaos: ${await brokers.restartNats(between(2_000, 6_000))}`);
      }
      // The server-side faults, spread over the rest of the sending (dev server: one restart at 60 %).
      for (const [i, fault] of temporal.faults.entries()) {
        while (sent < refunds.length * (0.6 + (0.3 * i) / temporal.faults.length) && !stopChaos) await sleep(200);
        temporalFaults.push(await fault());
      }
    })();

    const signer = new Signer(webhookSecret);
    const apiUrl = `http://127.0.0.1:${apiPort}/v1/events`;
    // A 5xx or no answer (the API killed, restarting): the sender sends again.
    const deliver = async (r: SentRefund, eventId: string, body: string) => {
      const taken = await sendUntilTaken(async () => {
        const response = await fetch(apiUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...signer.sign(eventId, body) }, body });
        if (response.status >= 500) return false;
        r.answers.push(response.status);
        return true;
      }, random);
      if (!taken) r.answers.push(0);
    };
    const sendOne = async (r: SentRefund) => {
      const eventId = `evt-${r.refundId}`;
      const data =
        r.provider === 'oen'
          ? {
              refundId: r.refundId,
              provider: 'oen',
              orderId: r.orderId,
              transactionHid: r.reference,
              amount: r.amount,
              reason: reasons.get(r.refundId) ?? 'chaos',
            }
          : { refundId: r.refundId, provider: 'mwd', orderId: r.orderId, amount: r.amount, cardToken, reason: reasons.get(r.refundId) ?? 'chaos' };
      const event = { specversion: '1.0', id: eventId, source: 'chaos', type: 'refund.requested', data };
      const body = JSON.stringify(event);
      // 1–3 deliveries (or publishes) of one event; a third of the time, all at once.
      const copies = Array.from(
        { length: r.deliveries },
        () => () => (r.transport === 'http' || !brokers ? deliver(r, eventId, body) : brokers.publish(r, event, signer)),
      );
      if (random() < 0.33) await Promise.all(copies.map((c) => c()));
      else for (const c of copies) await c();
      sent += 1;
      if (sent % Math.max(1, Math.floor(refunds.length / 10)) === 0) log(`chaos: ${sent}/${refunds.length} events sent`);
    };
    const queue = [...refunds];
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) await sendOne(r);
      }),
    );
    await milestones;
    // The relay killed while it delivers: the API goes down once more, the outcomes still to send with it.
    log('chaos: killing the API (its outcome relay with it) while outcomes go out');
    await api.kill();
    await sleep(between(500, 3_000)); // the outage itself
    await api.ensureRunning();

    // Drain: the engine settles every refund it accepted, and every outcome event in the outbox
    // reaches every destination, chaos still on.
    const settled = new Set(['succeeded', 'failed', 'cancelled', 'requires_attention']);
    const deadline = Date.now() + options.drainTimeoutMs;
    const drain = async () => {
      let lastLine = '';
      for (;;) {
        const { rows } = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM refunds GROUP BY status');
        const byStatus = Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
        const done = rows.filter((row) => settled.has(row.status)).reduce((sum, row) => sum + Number(row.n), 0);
        const { rows: events } = await db.query<{ event_id: string }>('SELECT event_id FROM outcome_events');
        await brokers?.readNatsOutcomes();
        // The outbox's events told at the destination that has told fewest of them.
        const told = Math.min(
          ...destinations().map((d) => {
            const ids = new Set(d.deliveries.map((x) => x.id));
            return events.filter((e) => ids.has(e.event_id)).length;
          }),
        );
        const line = `chaos: settled ${done}/${refunds.length}, outcome events told everywhere ${told}/${events.length} ${JSON.stringify(byStatus)}`;
        if (line !== lastLine) log(line);
        lastLine = line;
        if ((done >= refunds.length && told >= events.length) || Date.now() > deadline) return;
        await sleep(2_000);
      }
    };
    await drain();
    // People settle some of the refunds left to them (each then has two outcome events), chaos still on.
    const resolutions = await resolveSome({
      db,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      refunds,
      atProvider: [...(await sandboxRefunds(oenUrl)), ...(await sandboxRefunds(mwdUrl))],
      limit: 10,
    });
    log(`chaos: ${resolutions.figure}`);
    await drain();
    stopChaos = true;
    await chaos;
    await brokers?.readNatsOutcomes();

    const refundsAtSandbox = [...(await sandboxRefunds(oenUrl)), ...(await sandboxRefunds(mwdUrl))];
    const requestsAtSandbox = [
      ...(await admin<{ requests: SandboxRefundRequest[] }>(oenUrl, 'GET', 'refund-requests')).requests,
      ...(await admin<{ requests: SandboxRefundRequest[] }>(mwdUrl, 'GET', 'refund-requests')).requests,
    ];
    const { rows: ledger } = await db.query<LedgerRow>('SELECT refund_id, provider, status, amount, error_code, error_message FROM refunds');
    const { rows: outbox } = await db.query<OutboxRow>('SELECT event_id, type, subject, position FROM outcome_events');
    const { rows: refusals } = await db.query<{ intake: string; status_code: number; reason: string; event_id: string | null }>(
      'SELECT intake, status_code, reason, event_id FROM rejected_requests',
    );
    const scans = await scanForLeaks({
      temporalConnection: temporal.connectionOptions(),
      db,
      logs: [...workers, api].map((p) => p.output()),
      outcomeBodies: [...receiver.bodies, ...(brokers?.bodies ?? [])],
      secrets: [
        webhookSecret,
        webhookSecret.slice('whsec_'.length),
        outcomeSecret,
        outcomeSecret.slice('whsec_'.length),
        oenToken,
        mwdToken,
        signingKey,
        ...resolutions.keys,
      ],
    });
    const oenCount = refunds.filter((r) => r.provider === 'oen').length;
    scans.figures = `${scans.figures}; card numbers given to the engine: ${reasons.size} events' reasons, ${oenCount} Oen transactions' cardNum`;
    return checkInvariants({
      scans,
      options: { refunds: options.refunds, seed: options.seed, workers: options.workers, concurrency: options.concurrency },
      durationMs: Date.now() - started,
      refunds,
      ledger,
      sandboxRefunds: refundsAtSandbox,
      sandboxRequests: requestsAtSandbox,
      receiver,
      destinations: destinations(),
      resolutions,
      outbox,
      refusals: refusals.map((row) => `${row.intake} refused ${row.event_id ?? '(no id)'}: ${row.status_code} ${row.reason}`),
      ...(brokers && { deadLetters: await brokers.deadLetters() }),
      chaos: {
        workerKills: workers.reduce((n, w) => n + w.kills, 0),
        apiKills: api.kills,
        temporalFaults,
        brokerFaults: brokers?.faultsDone ?? [],
        temporalProblems: temporal.problems(),
        unplannedExits: [...workers, api, sandbox].flatMap((p) => p.unplannedExits),
      },
    });
  } finally {
    stopChaos = true;
    await Promise.all([...workers, api, sandbox].map((p) => p.stop()));
    await temporal.stop();
    await receiver.close();
    await brokers?.close();
    await db.close();
    await schema.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
