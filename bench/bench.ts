import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TEMPORAL_SERVER_VERSION } from '../scripts/cluster/binaries.js';
import { DEFAULT_POOLS } from '../scripts/cluster/cluster.js';
import { TEMPORAL_CLI_VERSION } from '../scripts/temporal-cli.js';
import { Signer } from '../src/webhooks/signing.js';
import { postgresDatabase } from '../src/ledger/database.js';
import { migrate } from '../src/ledger/migrations.js';
import { SANDBOX_OEN_MERCHANT_ID } from '../src/sandbox/index.js';
import { randomHid } from '../src/providers/oen/hid.js';
import type { TimelineEntry } from '../src/sandbox/server.js';
import { OutcomeReceiver, Supervised } from '../test/chaos/processes.js';
import { postgresSchema } from '../test/helpers/databases.js';
import { freePorts } from '../test/helpers/ports.js';
import { admin } from '../test/helpers/sandbox.js';
import { startTemporalUnderTest, type TemporalKind } from '../test/helpers/temporal-under-test.js';
import { maxInAnyWindow, percentiles, tightestSpan, type Percentiles } from './stats.js';

/**
 * The benchmark (issue 8): refunds through the real path — signed event → API → workflow → sandbox
 * provider (with latency) → ledger → outcome event — against the embedded dev server, and in the same
 * run the ceiling: the same server and worker running a minimal workflow with one no-op activity
 * (`pingWorkflow`) at the same concurrency. Every part is a real process, as in production: the dev
 * server on a SQLite file, the sandbox, the worker and the API on a PostgreSQL ledger.
 */
export interface BenchOptions {
  refunds: number;
  /** Senders (and, for the ceiling, starters) working at once. */
  concurrency: number;
  /** Added by the sandbox before every provider answer. */
  latencyMs: number;
  workers: number;
  /** Refunds sent at half the burst's rate, for the latency figures. */
  pacedRefunds: number;
  /** The rate limit (requests/s per provider) the last phase runs under, across two workers. */
  rateLimit: number;
  limitRefunds: number;
  /** The dev server (npm start's), or the production-shaped cluster (npm run cluster's, with mutual TLS). */
  temporal?: TemporalKind;
  command: string;
  log: (line: string) => void;
}

interface BenchRefund {
  refundId: string;
  provider: 'oen' | 'mwd';
  orderId: string;
  transactionHid?: string;
  amount: number;
  sentAt?: number;
  acceptedAt?: number;
  workflowId?: string;
  answer?: number;
}

export interface PhaseFigures {
  refunds: number;
  accepted: number;
  durationS: number;
  perSecond: number;
  /**
   * The intake on its own: from the first event sent to the last one accepted (the API's 202), and
   * events accepted per second over that time (the processing rate is `perSecond`). Absent in
   * results from before it was measured.
   */
  intake?: { durationS: number; perSecond: number };
  /** Event accepted (the API's 202) → the first request the provider sees for the refund. */
  acceptedToProviderMs: Percentiles;
  /** The provider's last answer for the refund → the workflow closed. */
  providerToCompleteMs: Percentiles;
  /** The two together: everything the engine adds to the provider's own time. */
  engineAddedMs: Percentiles;
}

export interface BenchResult {
  at: string;
  command: string;
  /** The checkout's commit (bench/run.ts), "-dirty" with uncommitted changes to what it runs. */
  commit?: string;
  machine: {
    cores: number;
    cpu: string;
    memoryGiB: number;
    os: string;
    node: string;
    temporalCli: string;
    /** What Temporal the run ran on. */
    temporal: string;
    postgres: string;
  };
  options: Omit<BenchOptions, 'log' | 'command'>;
  burst: PhaseFigures & {
    historyEvents: { mean: number; max: number; min: number };
    peakRssMb: { worker: number; api: number };
    /** CPU seconds each part used during the burst (the machine has `cores` × duration to give). */
    cpuSeconds: Record<string, number>;
  };
  ceiling: { workflows: number; durationS: number; perSecond: number; cpuSeconds: Record<string, number> };
  ratio: number;
  paced: PhaseFigures & { targetPerSecond: number };
  rateLimit: {
    limit: number;
    workers: number;
    refunds: number;
    maxInAnySecond: { oen: number; mwd: number };
    /** The shortest time any limit + 1 consecutive requests took (ms): above 1000, the limit held with that margin. */
    tightestSpanOfLimitPlusOneMs: { oen: number; mwd: number };
    averagePerSecond: { oen: number; mwd: number };
    holds: boolean;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Node flags of package.json's `worker` script (between `node` and the entry), e.g. the heap size. */
function workerNodeFlags(): string[] {
  const scripts = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const words = (scripts.worker ?? '').trim().split(/\s+/);
  return words.slice(1, -1).filter((word, i, all) => word !== '--import' && all[i - 1] !== '--import');
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** Every PostgreSQL server process on this machine (the ledger's), by its command name. */
function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Starts a process's peak resident memory (VmHWM) afresh, so a phase's peak is its own (Linux). */
function resetPeakMemory(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not Linux, or not allowed: the peak then counts from the process's start
  }
}

/** Peak and current resident memory of a process, from /proc (MB). */
function memoryOf(pid: number | undefined): { rssMb: number; peakMb: number } {
  if (pid === undefined) return { rssMb: 0, peakMb: 0 };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return { rssMb: 0, peakMb: 0 };
  }
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const { log } = options;
  const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-bench-'));
  const schema = await postgresSchema();
  const db = postgresDatabase(schema.url);
  await migrate(db);
  const postgres = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';

  const [oenPort, mwdPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const webhookSecret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;
  const outcomeSecret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;
  const receiver = new OutcomeReceiver(outcomeSecret, 0, Math.random);
  await receiver.start();
  // Alone on the machine's PostgreSQL, the cluster's hosts get npm run cluster's connection pools.
  const temporal = await startTemporalUnderTest(options.temporal ?? 'dev', dataDir, log, { dbConnections: DEFAULT_POOLS });
  const env = {
    ...process.env,
    ...temporal.env,
    DATABASE_URL: schema.url,
    OEN_BASE_URL: `http://127.0.0.1:${oenPort}`,
    OEN_TOKEN: 'sandbox',
    OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
    MWD_BASE_URL: `http://127.0.0.1:${mwdPort}`,
    MWD_TOKEN: 'sandbox',
    OUTCOME_WEBHOOK_URL: receiver.url,
    OUTCOME_WEBHOOK_SECRET: outcomeSecret,
    // The emulators and the receiver listen on loopback without TLS.
    ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,MWD_BASE_URL,OUTCOME_WEBHOOK_URL',
    INGEST_WEBHOOK_SECRET: webhookSecret,
    PORT: String(apiPort),
    METRICS_ADDRESS: 'off',
    LOG_LEVEL: 'info',
    OEN_RATE_LIMIT: 'off',
    MWD_RATE_LIMIT: 'off',
    SANDBOX_OEN_PORT: String(oenPort),
    SANDBOX_MWD_PORT: String(mwdPort),
  };
  const oenUrl = env.OEN_BASE_URL;
  const mwdUrl = env.MWD_BASE_URL;
  const sandbox = new Supervised('sandbox', ['src/sandbox/main.ts'], env, /Press Ctrl-C to stop/);
  const startWorkers = async (count: number, extra: Record<string, string> = {}) => {
    // The worker as `npm run worker` and the image run it: its Node flags, and MALLOC_ARENA_MAX as the
    // Dockerfile sets it. BENCH_WORKER_NODE_OPTIONS adds flags (memory experiments).
    const nodeOptions = process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {};
    const started = Array.from(
      { length: count },
      (_, i) =>
        new Supervised(
          `worker-${i + 1}`,
          [...workerNodeFlags(), 'src/worker.ts'],
          { ...env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', ...nodeOptions, ...extra },
          /Worker polling/,
        ),
    );
    await Promise.all(started.map((w) => w.start()));
    return started;
  };
  const api = new Supervised('api', ['src/api/main.ts'], env, /API listening/);
  let workers: Supervised[] = [];
  const connection = await Connection.connect(temporal.connectionOptions());
  const client = new Client({ connection, namespace: 'default' });

  try {
    await sandbox.start();
    workers = await startWorkers(options.workers);
    await api.start();
    const latency = { latencyMs: options.latencyMs };
    await admin(oenUrl, 'PUT', 'faults', { listTransactions: latency, refund: latency });
    await admin(mwdUrl, 'PUT', 'faults', { refund: latency });

    /** CPU seconds per part of the system, for where a phase's time went. */
    type CpuSnapshot = { parts: Record<string, number>; postgres: Map<number, number> };
    const cpu = (): CpuSnapshot => ({
      parts: {
        ...Object.fromEntries(Object.entries(temporal.pids()).map(([host, pid]) => [temporal.kind === 'dev' ? host : `Temporal ${host}`, cpuSeconds(pid)])),
        worker: workers.reduce((sum, w) => sum + cpuSeconds(w.pid()), 0),
        API: cpuSeconds(api.pid()),
        sandbox: cpuSeconds(sandbox.pid()),
        'bench driver (senders, outcome receiver)': cpuSeconds(process.pid),
      },
      postgres: new Map(postgresPids().map((pid) => [pid, cpuSeconds(pid)])),
    });
    /** Per part; PostgreSQL's backends come and go, so a backend that ended counts from 0 … to its last reading: only those alive at both ends are summed. */
    const cpuSince = (before: CpuSnapshot) => {
      const now = cpu();
      const parts = Object.fromEntries(Object.entries(now.parts).map(([part, seconds]) => [part, round(seconds - (before.parts[part] ?? 0), 1)]));
      let postgres = 0;
      for (const [pid, seconds] of now.postgres) postgres += seconds - (before.postgres.get(pid) ?? 0);
      return { ...parts, PostgreSQL: round(postgres, 1) };
    };

    const signer = new Signer(webhookSecret);
    const apiUrl = `http://127.0.0.1:${apiPort}/v1/events`;
    let sequence = 0;

    /** `count` refunds, half Oen card transactions and half MWD orders, seeded at the emulators. */
    const makeRefunds = async (count: number, tag: string): Promise<BenchRefund[]> => {
      const refunds: BenchRefund[] = Array.from({ length: count }, (_, i) => {
        sequence += 1;
        const amount = 100 + (sequence % 4900);
        const orderId = `BENCH-${tag}-${i}`;
        return i % 2 === 0
          ? { refundId: `RF-BENCH-${tag}-${i}`, provider: 'oen', orderId, transactionHid: randomHid(), amount }
          : { refundId: `RF-BENCH-${tag}-${i}`, provider: 'mwd', orderId, amount };
      });
      for (let i = 0; i < refunds.length; i += 2_000) {
        const chunk = refunds.slice(i, i + 2_000);
        await admin(oenUrl, 'POST', 'seed', {
          transactions: chunk.filter((r) => r.provider === 'oen').map((r) => ({ id: r.transactionHid, orderId: r.orderId, amount: r.amount })),
        });
        await admin(mwdUrl, 'POST', 'seed', {
          orders: chunk.filter((r) => r.provider === 'mwd').map((r) => ({ orderId: r.orderId, cardToken: `tok-${r.orderId}`, amount: r.amount })),
        });
      }
      return refunds;
    };

    const sendOne = async (r: BenchRefund) => {
      const eventId = `evt-${r.refundId}`;
      const data =
        r.provider === 'oen'
          ? { refundId: r.refundId, provider: 'oen', orderId: r.orderId, transactionHid: r.transactionHid, amount: r.amount, reason: 'bench' }
          : { refundId: r.refundId, provider: 'mwd', orderId: r.orderId, amount: r.amount, cardToken: `tok-${r.orderId}`, reason: 'bench' };
      const body = JSON.stringify({ specversion: '1.0', id: eventId, source: 'bench', type: 'refund.requested', data });
      r.sentAt = Date.now();
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        try {
          const response = await fetch(apiUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...signer.sign(eventId, body) }, body });
          r.answer = response.status;
          const answer = (await response.json()) as { refunds?: Array<{ workflowId: string }> };
          if (response.status === 202 || response.status === 200) {
            r.acceptedAt = Date.now();
            r.workflowId = answer.refunds?.[0]?.workflowId;
            return;
          }
          if (response.status < 500) return;
        } catch {
          // the API did not answer: send again, as order management would
        }
        await sleep(200 * attempt);
      }
    };

    /** Sends with `concurrency` senders; with `perSecond`, each event waits for its moment first. */
    const send = async (refunds: BenchRefund[], perSecond?: number) => {
      const queue = refunds.map((r, i) => ({ r, at: perSecond ? i / perSecond : 0 }));
      const started = Date.now();
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) {
            const wait = started + next.at * 1000 - Date.now();
            if (wait > 0) await sleep(wait);
            await sendOne(next.r);
          }
        }),
      );
    };

    /** Waits until every accepted refund's outcome event has arrived, showing progress. */
    const settle = async (phase: string, refunds: BenchRefund[], sending: Promise<void>) => {
      const ids = new Set(refunds.map((r) => r.refundId));
      const started = Date.now();
      let sendingDone = false;
      void sending.then(() => (sendingDone = true));
      let peakWorker = 0;
      let peakApi = 0;
      const deadline = started + Math.max(600_000, refunds.length * 200);
      for (;;) {
        await sleep(1_000);
        const done = new Set(receiver.deliveries.filter((d) => ids.has(d.refundId)).map((d) => d.refundId)).size;
        const accepted = refunds.filter((r) => r.acceptedAt !== undefined).length;
        const workerMb = workers.reduce((sum, w) => sum + memoryOf(w.pid()).rssMb, 0);
        const apiMb = memoryOf(api.pid()).rssMb;
        peakWorker = Math.max(peakWorker, workerMb);
        peakApi = Math.max(peakApi, apiMb);
        const seconds = (Date.now() - started) / 1000;
        log(
          `${phase}: ${accepted}/${refunds.length} accepted, ${done} completed (${(done / seconds).toFixed(1)}/s); ` +
            `RSS worker ${workerMb} MB, API ${apiMb} MB`,
        );
        const refused = refunds.filter((r) => r.answer !== undefined && r.answer !== 200 && r.answer !== 202).length;
        if (sendingDone && done >= accepted) {
          if (refused > 0) log(`${phase}: ${refused} events were not accepted`);
          break;
        }
        if (Date.now() > deadline) throw new Error(`${phase}: only ${done} of ${accepted} refunds completed in ${Math.round(seconds)} s`);
      }
      await sending;
      return { peakWorker, peakApi };
    };

    /** Close times and history lengths of the workflows, from visibility (waits until all show closed). */
    const closed = async (query: string, expected: number) => {
      for (let tries = 0; ; tries += 1) {
        const found = new Map<string, { closeTime: number; startTime: number; historyLength: number }>();
        for await (const w of client.workflow.list({ query })) {
          if (w.closeTime) found.set(w.workflowId, { closeTime: w.closeTime.getTime(), startTime: w.startTime.getTime(), historyLength: w.historyLength });
        }
        if (found.size >= expected || tries > 30) return found;
        await sleep(1_000);
      }
    };

    const timelines = async (since: number) => {
      const read = async (url: string) => (await admin<{ timeline: TimelineEntry[] }>(url, 'GET', `timeline?since=${since}`)).timeline;
      return { oen: await read(oenUrl), mwd: await read(mwdUrl) };
    };

    /** Latencies and throughput of one phase, from the driver's, the emulators' and Temporal's clocks (one machine). */
    const figures = async (refunds: BenchRefund[], since: number): Promise<{ phase: PhaseFigures; historyLengths: number[] }> => {
      const accepted = refunds.filter((r) => r.acceptedAt !== undefined && r.workflowId !== undefined);
      const byWorkflow = await closed(
        `WorkflowType = 'refundWorkflow' AND ExecutionStatus = 'Completed' AND StartTime >= '${new Date(since - 1000).toISOString()}'`,
        accepted.length,
      );
      const { oen, mwd } = await timelines(since);
      const bySegment = new Map<string, TimelineEntry[]>();
      for (const entry of [...oen, ...mwd]) {
        for (const segment of entry.path.split('?')[0]?.split('/') ?? []) {
          if (!segment) continue;
          const key = decodeURIComponent(segment);
          const list = bySegment.get(key) ?? [];
          list.push(entry);
          bySegment.set(key, list);
        }
      }
      const toProvider: number[] = [];
      const toComplete: number[] = [];
      const engine: number[] = [];
      const historyLengths: number[] = [];
      let firstSent = Infinity;
      let lastClosed = 0;
      for (const r of accepted) {
        const run = byWorkflow.get(r.workflowId ?? '');
        const entries = [...(bySegment.get(r.orderId) ?? []), ...(r.transactionHid ? (bySegment.get(r.transactionHid) ?? []) : [])];
        if (!run || entries.length === 0 || r.acceptedAt === undefined) continue;
        const firstCall = Math.min(...entries.map((e) => e.receivedAt));
        const lastAnswer = Math.max(...entries.map((e) => e.answeredAt ?? e.receivedAt));
        toProvider.push(firstCall - r.acceptedAt);
        toComplete.push(run.closeTime - lastAnswer);
        engine.push(firstCall - r.acceptedAt + (run.closeTime - lastAnswer));
        historyLengths.push(run.historyLength);
        firstSent = Math.min(firstSent, r.sentAt ?? Infinity);
        lastClosed = Math.max(lastClosed, run.closeTime);
      }
      const durationS = (lastClosed - firstSent) / 1000;
      const intakeS = (Math.max(...accepted.map((r) => r.acceptedAt ?? 0)) - Math.min(...accepted.map((r) => r.sentAt ?? Infinity))) / 1000;
      return {
        phase: {
          refunds: refunds.length,
          accepted: accepted.length,
          durationS: round(durationS, 1),
          perSecond: round(toComplete.length / durationS, 1),
          intake: { durationS: round(intakeS, 1), perSecond: round(accepted.length / intakeS, 1) },
          acceptedToProviderMs: percentiles(toProvider),
          providerToCompleteMs: percentiles(toComplete),
          engineAddedMs: percentiles(engine),
        },
        historyLengths,
      };
    };

    // Warm-up: JIT, connections, caches; not measured.
    log(`warm-up: 200 refunds`);
    const warm = await makeRefunds(200, 'warm');
    await settle('warm-up', warm, send(warm));

    // The burst.
    log(`burst: ${options.refunds} refunds, ${options.concurrency} senders, provider latency ${options.latencyMs} ms`);
    const burstRefunds = await makeRefunds(options.refunds, 'burst');
    for (const pid of [...workers.map((w) => w.pid()), api.pid()]) resetPeakMemory(pid);
    const burstSince = Date.now();
    const burstCpu = cpu();
    const burstMemory = await settle('burst', burstRefunds, send(burstRefunds));
    const burstCpuSeconds = cpuSince(burstCpu);
    const workerPeak = Math.max(burstMemory.peakWorker, ...workers.map((w) => memoryOf(w.pid()).peakMb));
    const apiPeak = Math.max(burstMemory.peakApi, memoryOf(api.pid()).peakMb);
    const { phase: burst, historyLengths } = await figures(burstRefunds, burstSince);

    // The ceiling: the same server and worker, a minimal workflow with one no-op activity.
    log(`ceiling: ${options.refunds} pingWorkflow runs, ${options.concurrency} starters`);
    const ceilingStarted = Date.now();
    const ceilingCpu = cpu();
    let startedCount = 0;
    const starters = Array.from({ length: options.concurrency }, async () => {
      while (startedCount < options.refunds) {
        const i = startedCount;
        startedCount += 1;
        await client.workflow.start('pingWorkflow', { taskQueue: 'refunds', workflowId: `bench-ping-${i}`, args: [{ message: 'bench' }] });
      }
    });
    let startingDone = false;
    const starting = Promise.all(starters).then(() => (startingDone = true));
    for (;;) {
      await sleep(1_000);
      const done = Number((await client.workflow.count(`WorkflowType = 'pingWorkflow' AND ExecutionStatus = 'Completed'`)).count);
      const seconds = (Date.now() - ceilingStarted) / 1000;
      log(`ceiling: ${startedCount}/${options.refunds} started, ${done} completed (${(done / seconds).toFixed(1)}/s)`);
      if (startingDone && done >= options.refunds) break;
    }
    await starting;
    const ceilingCpuSeconds = cpuSince(ceilingCpu);
    const pings = await closed(`WorkflowType = 'pingWorkflow' AND ExecutionStatus = 'Completed'`, options.refunds);
    const pingFirst = Math.min(...[...pings.values()].map((p) => p.startTime));
    const pingLast = Math.max(...[...pings.values()].map((p) => p.closeTime));
    const ceilingSeconds = (pingLast - Math.min(pingFirst, ceilingStarted)) / 1000;
    const ceiling = {
      workflows: pings.size,
      durationS: round(ceilingSeconds, 1),
      perSecond: round(pings.size / ceilingSeconds, 1),
      cpuSeconds: ceilingCpuSeconds,
    };

    // Half the burst's rate: the latency a refund sees when the engine is not saturated.
    const pacedRate = Math.max(1, burst.perSecond / 2);
    log(`paced: ${options.pacedRefunds} refunds at ${pacedRate.toFixed(1)}/s`);
    const pacedRefunds = await makeRefunds(options.pacedRefunds, 'paced');
    const pacedSince = Date.now();
    await settle('paced', pacedRefunds, send(pacedRefunds, pacedRate));
    const { phase: paced } = await figures(pacedRefunds, pacedSince);

    // The rate limit, across two workers: the emulators count what they receive.
    log(`rate limit: ${options.limitRefunds} refunds, OEN_RATE_LIMIT=MWD_RATE_LIMIT=${options.rateLimit}, 2 workers`);
    await Promise.all(workers.map((w) => w.stop()));
    workers = await startWorkers(2, { OEN_RATE_LIMIT: String(options.rateLimit), MWD_RATE_LIMIT: String(options.rateLimit) });
    const limitRefunds = await makeRefunds(options.limitRefunds, 'limit');
    const limitSince = Date.now();
    await settle('rate limit', limitRefunds, send(limitRefunds));
    const seen = await timelines(limitSince);
    const rateOf = (entries: TimelineEntry[]) => {
      const times = entries.map((e) => e.receivedAt).sort((a, b) => a - b);
      const span = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
      return {
        max: maxInAnyWindow(times, 1000),
        tightest: tightestSpan(times, options.rateLimit + 1),
        average: span > 0 ? round(times.length / span, 1) : 0,
      };
    };
    const oenRate = rateOf(seen.oen);
    const mwdRate = rateOf(seen.mwd);

    return {
      at: new Date().toISOString(),
      command: options.command,
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(totalmem() / 1024 ** 3, 1),
        os: `Linux ${release()}`,
        node: process.version,
        temporalCli: TEMPORAL_CLI_VERSION,
        temporal:
          temporal.kind === 'dev'
            ? `Temporal CLI ${TEMPORAL_CLI_VERSION} dev server (SQLite file)`
            : `Temporal server ${TEMPORAL_SERVER_VERSION} cluster (5 processes: frontend, 2 history, matching, worker; 8 shards; PostgreSQL; mutual TLS)`,
        postgres,
      },
      options: {
        refunds: options.refunds,
        concurrency: options.concurrency,
        latencyMs: options.latencyMs,
        workers: options.workers,
        pacedRefunds: options.pacedRefunds,
        rateLimit: options.rateLimit,
        limitRefunds: options.limitRefunds,
      },
      burst: {
        ...burst,
        historyEvents: {
          mean: round(historyLengths.reduce((a, b) => a + b, 0) / Math.max(1, historyLengths.length), 1),
          min: Math.min(...historyLengths),
          max: Math.max(...historyLengths),
        },
        peakRssMb: { worker: workerPeak, api: apiPeak },
        cpuSeconds: burstCpuSeconds,
      },
      ceiling,
      ratio: round(burst.perSecond / ceiling.perSecond, 2),
      paced: { ...paced, targetPerSecond: round(pacedRate, 1) },
      rateLimit: {
        limit: options.rateLimit,
        workers: 2,
        refunds: options.limitRefunds,
        maxInAnySecond: { oen: oenRate.max, mwd: mwdRate.max },
        tightestSpanOfLimitPlusOneMs: { oen: oenRate.tightest, mwd: mwdRate.tightest },
        averagePerSecond: { oen: oenRate.average, mwd: mwdRate.average },
        holds: oenRate.max <= options.rateLimit && mwdRate.max <= options.rateLimit,
      },
    };
  } finally {
    await Promise.all([...workers, api, sandbox].map((p) => p.stop()));
    await connection.close();
    await temporal.stop();
    await receiver.close();
    await db.close();
    await schema.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
