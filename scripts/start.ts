/**
 * `npm start`: the whole engine on embedded defaults, in one process, until Ctrl-C.
 *
 * Without TEMPORAL_ADDRESS it starts the pinned Temporal dev server (built on first use) with its
 * Web UI; without OEN_BASE_URL / MWD_BASE_URL, the sandbox emulators of the providers. Then it runs
 * the worker on the refunds task queue and the API (with development secrets unless they are set),
 * and prints where everything is, with a demo refund of each sandbox emulator to paste.
 * Ctrl-C stops the worker first (in-flight activities get their grace time), then the server.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees only its default export
import { Client, type Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { destination } from 'pino';
import { startApi, type RunningApi } from '../src/api/main.js';
import { devSecretsPath, ensureDevSecrets } from '../src/dev-secrets.js';
import { clientDataConverter, payloadCodecFor } from '../src/codec/data-converter.js';
import { createCodecServer } from '../src/codec/server.js';
import { codecAllowedOrigin, loadConfigOrExit, type Config } from '../src/config.js';
import { intakeTitles, type BrokerIntakeName } from '../src/domain/intakes.js';
import { formatNtd } from '../src/domain/format.js';
import { SANDBOX_TOKEN, startSandboxes, type RunningSandboxes } from '../src/sandbox/index.js';
import { demoCommand, mwdDemo, oenDemo, type SandboxDemo } from '../src/providers/sandbox-demo.js';
import { handleShutdownSignals } from '../src/shutdown.js';
import type { Database } from '../src/ledger/database.js';
import { ledgerLocation, openLedgerDatabase } from '../src/ledger/index.js';
import { createLogger } from '../src/logging.js';
import { RefundLedger } from '../src/ledger/refunds.js';
import { createProviderClients, rateLimitersFrom, defaultSandboxUrls } from '../src/wiring/providers.js';
import { prebuiltWorkflowBundle } from '../src/workflow-bundle.js';
import { installReconcileSchedule } from '../src/client/schedule.js';
import { createWorker } from '../src/wiring/worker.js';
import { firstBuildCurrent } from '../src/wiring/deployments.js';
import { AuditTrail } from '../src/ledger/audit.js';
import { currentRelease } from '../src/release.js';
import { installRuntime, metricsUrl } from '../src/wiring/runtime.js';
import { connectClient, connectNative } from '../src/wiring/temporal-connect.js';
import { describeTemporalConnection, temporalConnectionOrExit } from '../src/wiring/temporal-connection.js';
import { ensureDeveloperKey } from '../src/wiring/developer-key.js';
import { startDevServer, type RunningDevServer } from './dev-server.js';
import { ensureTemporalCli, findTemporalCli } from './temporal-cli.js';

const log = (line: string) => console.log(line);

let stopRequested = false;
let worker: Worker | undefined;

/** The banner says "polling" only once the server has seen the worker's first poll. */
async function waitForPoller(connection: NativeConnection, namespace: string, taskQueue: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !stopRequested) {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if (pollers?.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!stopRequested) log(`Warning: the server has not seen the worker poll "${taskQueue}" after 30s.`);
}

/** A demo refund of each emulator this run serves, seeded for this run so that no earlier run has refunded it. */
function seedDemos(sandboxes: RunningSandboxes, config: { OEN_BASE_URL?: string | undefined; MWD_BASE_URL?: string | undefined }): SandboxDemo[] {
  const demos: SandboxDemo[] = [];
  if (!config.OEN_BASE_URL) demos.push(oenDemo(1000));
  if (!config.MWD_BASE_URL) demos.push(mwdDemo(1000));
  for (const demo of demos) (demo.provider === 'oen' ? sandboxes.oen : sandboxes.mwd).core.seed(demo.seed);
  return demos;
}

function banner(lines: Array<[string, string]>): string {
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, { npmStart: true });
  const temporal = temporalConnectionOrExit();
  // The banner is for people; the engine's JSON log lines (API requests, SDK and activity lines) go
  // to a file beside the other state, at LOG_LEVEL.
  const logFile = resolve(config.DATA_DIR, 'refundflow.log');
  mkdirSync(resolve(config.DATA_DIR), { recursive: true });
  const logger = createLogger({ level: config.LOG_LEVEL, destination: destination({ dest: logFile, append: true, sync: true }) });
  const metrics = installRuntime(config, logger.child({ name: 'worker' }));
  handleShutdownSignals({
    stop: (signal) => {
      stopRequested = true;
      log(`\n${signal}: stopping — the worker finishes in-flight work, then the Temporal server stops.`);
      if (worker?.getState() === 'RUNNING') worker.shutdown();
    },
    force: () => {
      log('Stopping at once.');
      process.exit(130); // the dev server's exit hook kills it
    },
  });

  // Payloads are encrypted only under configured keys; the codec server then lets the Web UI decode.
  const codec = payloadCodecFor(config);
  const codecUrl = `http://localhost:${config.CODEC_SERVER_PORT}`;
  let server: RunningDevServer | undefined;
  let cliPath: string | undefined;
  if (config.TEMPORAL_ADDRESS) {
    log(`Using the Temporal server at ${config.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS); no dev server started. Connecting: ${temporal.security}.`);
    cliPath = findTemporalCli();
  } else {
    cliPath = await ensureTemporalCli({ log });
    if (stopRequested) return;
    log('Starting the Temporal dev server…');
    server = await startDevServer(
      {
        cliPath,
        dataDir: resolve(config.DATA_DIR),
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        ...(codec && { codecEndpoint: codecUrl }),
      },
      log,
    );
  }

  let sandboxes: RunningSandboxes | undefined;
  let connection: NativeConnection | undefined;
  let db: Database | undefined;
  let api: RunningApi | undefined;
  let clientConnection: Connection | undefined;
  let codecServer: FastifyInstance | undefined;
  try {
    if (stopRequested) return;
    if (!config.OEN_BASE_URL || !config.MWD_BASE_URL) {
      sandboxes = await startSandboxes({
        oenPort: config.SANDBOX_OEN_PORT,
        mwdPort: config.SANDBOX_MWD_PORT,
        oenToken: config.OEN_TOKEN ?? SANDBOX_TOKEN,
        mwdToken: config.MWD_TOKEN ?? SANDBOX_TOKEN,
      });
    }
    // A card payment in each emulator that no earlier run has refunded, for the banner's demos.
    const demos = sandboxes ? seedDemos(sandboxes, config) : [];
    db = await openLedgerDatabase(config);
    // Decisions: the API signs them, the worker checks them; npm start's own Temporal keeps decisions
    // sent from the Web UI too, as unverified (the banner says so), unless ALLOW_UNSIGNED_DECISIONS is set.
    const dev = ensureDevSecrets(config);
    const signingKey = config.OPERATOR_SIGNING_KEY ?? dev.operatorSigningKey;
    const engineConfig = {
      ...config,
      OPERATOR_SIGNING_KEY: signingKey,
      ALLOW_UNSIGNED_DECISIONS: process.env.ALLOW_UNSIGNED_DECISIONS ? config.ALLOW_UNSIGNED_DECISIONS : server !== undefined,
    };
    const developer = await ensureDeveloperKey(db, config);
    const deps = {
      ledger: new RefundLedger(db),
      providers: createProviderClients(config, sandboxes ?? defaultSandboxUrls(config), metrics, rateLimitersFrom(config, db)),
      metrics,
    };
    connection = await connectNative(temporal);
    log('Starting the worker…');
    const workflowBundle = await prebuiltWorkflowBundle({ withFailureConverter: config.PAYLOAD_ENCRYPTION_KEYS !== undefined, log });
    // Worker Versioning (docs/engine.md, "Releases"): off on npm start's own dev server, where one
    // worker's code changes under it between starts; on against a given Temporal, unless said.
    const release = currentRelease();
    const versioned = config.WORKER_VERSIONING === 'on' || (config.WORKER_VERSIONING === undefined && config.TEMPORAL_ADDRESS !== undefined);
    const deployment = versioned ? { name: config.WORKER_DEPLOYMENT_NAME, buildId: release.buildId } : undefined;
    worker = await createWorker({ config: engineConfig, connection, deps, workflowBundle, ...(deployment && { deployment }) });
    if (stopRequested) return;
    const running = worker.run();
    await waitForPoller(connection, config.TEMPORAL_NAMESPACE, config.REFUNDS_TASK_QUEUE);
    if (deployment) {
      await firstBuildCurrent(
        connection.workflowService,
        new AuditTrail(db),
        { namespace: config.TEMPORAL_NAMESPACE, ...deployment },
        {
          info: log,
          error: (line) => log(`Warning: ${line}`),
        },
      );
    }

    // The API shares this process's ledger (PGlite is one process's database).
    const webhookSecret = config.INGEST_WEBHOOK_SECRET ?? dev.ingestWebhookSecret;
    const codecToken = config.CODEC_SERVER_TOKEN ?? dev.codecServerToken;
    if (codec) {
      codecServer = createCodecServer({ codec, token: codecToken, allowedOrigin: codecAllowedOrigin(config) });
      await codecServer.listen({ port: config.CODEC_SERVER_PORT, host: '127.0.0.1' }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        throw new Error(`Port ${config.CODEC_SERVER_PORT} for the codec server is already in use (set CODEC_SERVER_PORT)`);
      });
    }
    clientConnection = await connectClient(temporal);
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(config) });
    const schedule = await installReconcileSchedule(client, { taskQueue: config.REFUNDS_TASK_QUEUE, intervalSeconds: config.RECONCILE_INTERVAL_SECONDS });
    api = await startApi({
      config,
      client,
      db,
      webhookSecret,
      signingKey,
      host: '127.0.0.1',
      logger: logger.child({ name: 'api' }),
    });
    const generated = `generated for development, kept in ${devSecretsPath(config)}`;

    const temporalCli = cliPath ?? 'temporal';
    log('\nrefundflow is running\n');
    log(
      banner([
        [
          'Temporal Web UI',
          server
            ? `${server.uiUrl} (the dev server's UI: cancel, signal, update, terminate, reset and start are on here, and off in production's)`
            : 'the Web UI of your Temporal server',
        ],
        ['Temporal server', describeTemporalConnection(temporal)],
        [
          'Worker',
          `polling task queue "${config.REFUNDS_TASK_QUEUE}"; refundflow ${release.version}, build ${release.buildId}` +
            (deployment ? ` (Worker Versioning on: deployment ${deployment.name})` : ' (Worker Versioning off: WORKER_VERSIONING)'),
        ],
        ['Metrics', metricsUrl(config) ?? 'off (METRICS_ADDRESS=off)'],
        ['Oen', config.OEN_BASE_URL ?? `${sandboxes?.oenUrl} (sandbox emulator)`],
        ['MWD', config.MWD_BASE_URL ?? `${sandboxes?.mwdUrl} (sandbox emulator)`],
        ['Ledger', ledgerLocation(config)],
        [
          'Reconciliation',
          `every ${describeInterval(schedule.intervalSeconds)} (Temporal Schedule "${schedule.scheduleId}", ${schedule.kind}); ` +
            `refunds Oen shows still charged are ${config.RECONCILE_RESUBMIT ? 'sent again' : 'left for a person'} (RECONCILE_RESUBMIT)`,
        ],
        ['Logs', `${logFile} (JSON lines, LOG_LEVEL=${config.LOG_LEVEL}; card numbers and secrets redacted)`],
        ['API', `${api.url} (POST /v1/events, GET /v1/refunds, /openapi.json)`],
        ...intakeLines(config, api),
        ['Outcomes', outcomesLine(config, api)],
        ['Webhook secret', config.INGEST_WEBHOOK_SECRET ? '(INGEST_WEBHOOK_SECRET)' : `${webhookSecret} (${generated})`],
        ['Operator key', `${developer.key} (the developer, an approver; ${developer.made ? 'made now' : 'made earlier'}, kept in ${devSecretsPath(config)})`],
        [
          'Decisions',
          engineConfig.ALLOW_UNSIGNED_DECISIONS
            ? 'signed by the API; approve/reject/cancel sent from the Web UI or temporal CLI are also taken, recorded as unverified, never as one of the two people DUAL_APPROVAL_THRESHOLD needs (embedded dev mode; ALLOW_UNSIGNED_DECISIONS=false refuses them)'
            : 'only through the API or npx refundflow (signed); updates sent from the Web UI or temporal CLI are refused',
        ],
        ...(config.OPERATOR_TOKEN
          ? ([
              [
                'OPERATOR_TOKEN',
                'deprecated: still accepted as an approver for this release, never as one of two people; use named keys (npx refundflow operator add)',
              ],
            ] as Array<[string, string]>)
          : []),
        [
          'Payload encryption',
          codec
            ? `on: AES-256-GCM under key "${codec.keyId}" (PAYLOAD_ENCRYPTION_KEYS); histories are stored encrypted`
            : 'off: payloads are stored as plain JSON. Set PAYLOAD_ENCRYPTION_KEYS to encrypt (npx refundflow new-key)',
        ],
        ...(codec
          ? ([
              ['Codec server', `${codecUrl} (the Web UI decodes through it)`],
              ['Codec token', config.CODEC_SERVER_TOKEN ? '(CODEC_SERVER_TOKEN)' : `${codecToken} (${generated})`],
            ] as Array<[string, string]>)
          : []),
        ...(server
          ? ([
              ['Temporal state', `${resolve(config.DATA_DIR, 'temporal.db')} (kept across restarts)`],
              ['Temporal log', server.logFile],
            ] as Array<[string, string]>)
          : []),
        ['Temporal CLI', temporalCli],
      ]),
    );
    const cli = `${temporalCli} workflow`;
    const at = `--address ${temporal.address} --namespace ${config.TEMPORAL_NAMESPACE}`;
    const [first] = demos;
    if (first) {
      // The CLI finds the API, npm start's development secret and the developer's key by itself in
      // the usual set-up; elsewhere the command says where they are (the data directory holds both,
      // so no secret is put on a command line).
      const apiFlag = config.PORT !== 8080 ? ` --api ${api.url}` : '';
      const dataDir = resolve(config.DATA_DIR) !== resolve('.data') ? `DATA_DIR=${resolve(config.DATA_DIR)} ` : '';
      const refundflow = `${dataDir}npx refundflow${apiFlag}`;
      log('\nTry it — refunds seeded for this run in the sandbox emulators:');
      for (const demo of demos) {
        const { request } = demo;
        const what = request.provider === 'oen' ? `the Oen card transaction ${request.transactionHid}` : `the MWD order ${request.orderId} (paid by card)`;
        log(`  # refund ${formatNtd(request.amount)} of ${what}`);
        log(`  ${refundflow} ${demoCommand(demo)}`);
      }
      log(`Then look at ${demos.length > 1 ? 'them' : 'it'} here, and in the Web UI (Workflows, filter RefundStatus="succeeded"):`);
      if (demos.length > 1) log(`  ${refundflow} list`);
      log(`  ${refundflow} status ${first.request.refundId}`);
      log(`  ${cli} list ${at} --query 'RefundStatus="succeeded"'`);
    } else {
      log('\nTry it — a workflow that calls an activity on this worker:');
      log(`  ${cli} execute ${at} --task-queue ${config.REFUNDS_TASK_QUEUE} --type pingWorkflow --input '{"message":"hello"}'`);
    }
    if (codec && server) {
      log(`\nSee payloads decoded in the Web UI, once per browser (docs/operations.md, "Encrypted payloads"):`);
      log(`  1. sign in at ${codecUrl} with the codec token;`);
      log('  2. in the Web UI, open the Codec Server settings (the glasses icon, top right), choose "Use my browser');
      log(`     setting", paste ${codecUrl}, turn on "Include cross-origin credentials", Apply.`);
    }
    log('\nPress Ctrl-C to stop.');
    await running;
    log('Worker stopped.');
  } finally {
    // A worker created but never run (stopped during start-up) still holds the connection; the
    // process is leaving either way, so a refusal to close it is not worth reporting.
    await api?.close().catch(() => undefined);
    await codecServer?.close().catch(() => undefined);
    await clientConnection?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await sandboxes?.close();
    await db?.close();
    if (server) {
      await server.stop();
      log('Temporal dev server stopped.');
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

/**
 * Where events come in: HTTP always; RabbitMQ and NATS JetStream when AMQP_URL and NATS_URL are set
 * (what each consumes, where, and where its refusals go), and whether broker messages must be signed.
 */
function intakeLines(config: Config, api: RunningApi): Array<[string, string]> {
  const where = (intake: BrokerIntakeName) => api.intakes.find((running) => running.intake === intake)?.where ?? '';
  const on = [config.AMQP_URL && intakeTitles.amqp, config.NATS_URL && intakeTitles.nats].filter(Boolean).join(' and ');
  const lines: Array<[string, string]> = [
    ['Intakes', `HTTP (POST ${api.url}/v1/events)${on ? `, ${on}` : '; RabbitMQ and NATS off (set AMQP_URL, NATS_URL)'}`],
  ];
  if (config.AMQP_URL) lines.push([intakeTitles.amqp, `${where('amqp')}; refusals to exchange "${config.AMQP_DEAD_LETTER_EXCHANGE}"`]);
  if (config.NATS_URL) lines.push([intakeTitles.nats, `${where('nats')}; refusals to ${config.NATS_DEAD_LETTER_SUBJECT}`]);
  if (on) {
    lines.push([
      'Broker signatures',
      config.INGEST_WEBHOOK_SECRET
        ? 'required: every broker message is signed with INGEST_WEBHOOK_SECRET, as HTTP events are'
        : 'not required (INGEST_WEBHOOK_SECRET unset): unsigned broker messages are taken; signed ones are checked against the webhook secret below. Set INGEST_WEBHOOK_SECRET to require them',
    ]);
  }
  return lines;
}

/** Where the outcome events go (the relay's destinations), and the stream that has them all. */
function outcomesLine(config: Config, api: RunningApi): string {
  const to = [
    ...(config.OUTCOME_WEBHOOK_URL ? [`POSTed to ${config.OUTCOME_WEBHOOK_URL}`] : []),
    ...(config.OUTCOME_AMQP_EXCHANGE ? [`RabbitMQ exchange "${config.OUTCOME_AMQP_EXCHANGE}"`] : []),
    ...(config.OUTCOME_NATS_SUBJECT ? [`NATS subject ${config.OUTCOME_NATS_SUBJECT} (stream ${config.OUTCOME_NATS_STREAM})`] : []),
  ];
  const sent = to.length > 0 ? `sent to ${to.join(', ')}` : 'sent nowhere (set OUTCOME_WEBHOOK_URL, OUTCOME_AMQP_EXCHANGE or OUTCOME_NATS_SUBJECT)';
  return `${sent}; all of them, in order: GET ${api.url}/v1/outcomes, npx refundflow outcomes --follow`;
}

/** "15 min", "90 s", "2 h". */
function describeInterval(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
