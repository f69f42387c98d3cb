import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from './activities/index.js';
import { retryMetricsInterceptor } from './activities/retry-metrics.js';
import { workerDataConverter } from './codec/data-converter.js';
import type { OutcomeTarget } from './activities/outcome.js';
import { loadConfigOrExit, uiBaseUrl, type Config } from './config.js';
import type { ReconcilePolicy } from './domain/reconcile.js';
import type { RefundPolicy } from './domain/refund.js';
import { ledgerLocation, openLedgerDatabase } from './ledger/index.js';
import { RefundLedger } from './ledger/refunds.js';
import { createLogger, runtimeLogger } from './logging.js';
import { engineMetrics, noMetrics, type EngineMetrics } from './metrics.js';
import { createProviderClients, rateLimitersFrom, type ProviderClients } from './providers/index.js';
import { handleShutdownSignals } from './shutdown.js';
import { prebuiltWorkflowBundle } from './workflow-bundle.js';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/** Where an unset TEMPORAL_ADDRESS points: the dev server `npm start` runs. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `localhost:${config.TEMPORAL_DEV_PORT}`;
}

export function refundPolicyFrom(config: Config): RefundPolicy {
  return {
    ...(config.APPROVAL_THRESHOLD !== undefined && { approvalThreshold: config.APPROVAL_THRESHOLD }),
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_SECONDS * 1000,
    retryWindowMs: config.PROVIDER_RETRY_WINDOW_SECONDS * 1000,
  };
}

export function reconcilePolicyFrom(config: Config): ReconcilePolicy {
  return {
    submittingAfterSeconds: config.RECONCILE_SUBMITTING_AFTER_SECONDS,
    succeededWithinDays: config.RECONCILE_SUCCEEDED_DAYS,
    resubmit: config.RECONCILE_RESUBMIT,
  };
}

/** Where outcome events go, when OUTCOME_WEBHOOK_URL is set (the config requires its secret with it). */
export function outcomeTargetFrom(config: Config): { outcomes?: OutcomeTarget } {
  if (!config.OUTCOME_WEBHOOK_URL || !config.OUTCOME_WEBHOOK_SECRET) return {};
  return {
    outcomes: {
      url: config.OUTCOME_WEBHOOK_URL,
      secret: config.OUTCOME_WEBHOOK_SECRET,
      uiBaseUrl: uiBaseUrl(config),
      namespace: config.TEMPORAL_NAMESPACE,
    },
  };
}

/** What the activities work with: the ledger, the provider clients, and where metrics go. */
export interface EngineDeps {
  ledger: RefundLedger;
  providers: ProviderClients;
  metrics?: EngineMetrics;
}

export interface CreateWorkerOptions {
  config: Config;
  connection: NativeConnection;
  deps: EngineDeps;
  /**
   * A prebuilt bundle (tests build one per suite); otherwise the workflows are bundled at start. With
   * PAYLOAD_ENCRYPTION_KEYS, a prebuilt bundle must be built with `failureConverterPath` as well.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createWorker({ config, connection, deps, workflowBundle }: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.REFUNDS_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    dataConverter: workerDataConverter(config),
    activities: createActivities({
      now: () => new Date(),
      policy: refundPolicyFrom(config),
      reconcile: reconcilePolicyFrom(config),
      ...outcomeTargetFrom(config),
      ...deps,
    }),
    interceptors: { activity: [retryMetricsInterceptor(deps.metrics ?? noMetrics)] },
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    // On shutdown, running activities get this long to finish; after it they are cancelled and
    // Temporal hands them to another worker once their timeout passes.
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * The process's Temporal Runtime, once, before any connection: the Prometheus exporter on
 * METRICS_ADDRESS (`/metrics`: the SDK's metrics and ours) unless it is `off`, the SDK's and the
 * activities' log lines into our JSON logger (src/logging.ts), and no signal
 * handling of its own: each entry point decides what a signal stops, and in what order (see
 * src/shutdown.ts). Returns the engine's metrics, recorded through the Runtime's meter.
 */
export function installRuntime(config: Pick<Config, 'METRICS_ADDRESS'>, logger: Logger): EngineMetrics {
  const exported = config.METRICS_ADDRESS !== 'off';
  try {
    Runtime.install({
      shutdownSignals: [],
      logger: runtimeLogger(logger),
      ...(exported && {
        telemetryOptions: { metrics: { metricPrefix: 'temporal_', prometheus: { bindAddress: config.METRICS_ADDRESS, countersTotalSuffix: true } } },
      }),
    });
  } catch (err) {
    if (!(err instanceof Error) || !/prometheus/i.test(err.message)) throw err;
    throw new Error(`Cannot serve metrics on METRICS_ADDRESS=${config.METRICS_ADDRESS} (${err.message}); set a free host:port, or off`);
  }
  return exported ? engineMetrics(Runtime.instance().metricMeter) : noMetrics;
}

/** Where `/metrics` is served, for the logs and the banner. */
export function metricsUrl(config: Pick<Config, 'METRICS_ADDRESS'>): string | undefined {
  if (config.METRICS_ADDRESS === 'off') return undefined;
  const [host, port] = config.METRICS_ADDRESS.split(':');
  return `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/metrics`;
}

/** The sandbox addresses a standalone worker assumes for unset provider URLs (`npm run sandbox`). */
export function defaultSandboxUrls(config: Config) {
  return { oenUrl: `http://127.0.0.1:${config.SANDBOX_OEN_PORT}`, mwdUrl: `http://127.0.0.1:${config.SANDBOX_MWD_PORT}` };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  const metrics = installRuntime(config, log);
  const address = temporalAddress(config);
  const db = await openLedgerDatabase(config);
  const connection = await NativeConnection.connect({ address });
  const deps = { ledger: new RefundLedger(db), providers: createProviderClients(config, defaultSandboxUrls(config), metrics, rateLimitersFrom(config, db)), metrics };
  const workflowBundle = await prebuiltWorkflowBundle({
    withFailureConverter: config.PAYLOAD_ENCRYPTION_KEYS !== undefined,
    log: (line) => log.info(line),
  });
  const worker = await createWorker({ config, connection, deps, workflowBundle });
  handleShutdownSignals({
    stop: (signal) => {
      log.info(`${signal}: finishing in-flight work, then stopping`);
      worker.shutdown();
    },
    force: () => {
      log.warn('Stopping at once; unfinished activities go to another worker after their timeout');
      process.exit(130);
    },
  });
  log.info(
    `Worker polling task queue ${config.REFUNDS_TASK_QUEUE} on ${address} (namespace ${config.TEMPORAL_NAMESPACE}); ` +
      `ledger: ${ledgerLocation(config)}; metrics: ${metricsUrl(config) ?? 'off (METRICS_ADDRESS=off)'}`,
  );
  await worker.run();
  await connection.close();
  await db.close();
  log.info('Worker stopped');
  log.flush();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`Worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
