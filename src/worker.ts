import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { workerDataConverter } from './codec/data-converter.js';
import type { OutcomeTarget } from './activities/outcome.js';
import { loadConfigOrExit, uiBaseUrl, type Config } from './config.js';
import type { RefundPolicy } from './domain/refund.js';
import { ledgerLocation, openLedgerDatabase } from './ledger/index.js';
import { RefundLedger } from './ledger/refunds.js';
import { createProviderClients, type ProviderClients } from './providers/index.js';
import { handleShutdownSignals } from './shutdown.js';

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

/** What the activities work with: the ledger and the provider clients. */
export interface EngineDeps {
  ledger: RefundLedger;
  providers: ProviderClients;
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
    activities: createActivities({ now: () => new Date(), policy: refundPolicyFrom(config), ...outcomeTargetFrom(config), ...deps }),
    // On shutdown, running activities get this long to finish; after it they are cancelled and
    // Temporal hands them to another worker once their timeout passes.
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * The Runtime's own signal handling is off: each entry point decides what a signal stops, and in
 * what order (see src/shutdown.ts).
 */
export function installRuntime(logLevel: LogLevel = 'INFO'): void {
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger(logLevel) });
}

/** The sandbox addresses a standalone worker assumes for unset provider URLs (`npm run sandbox`). */
export function defaultSandboxUrls(config: Config) {
  return { oenUrl: `http://127.0.0.1:${config.SANDBOX_OEN_PORT}`, mwdUrl: `http://127.0.0.1:${config.SANDBOX_MWD_PORT}` };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  installRuntime();
  const address = temporalAddress(config);
  const db = await openLedgerDatabase(config);
  const connection = await NativeConnection.connect({ address });
  const deps = { ledger: new RefundLedger(db), providers: createProviderClients(config, defaultSandboxUrls(config)) };
  const worker = await createWorker({ config, connection, deps });
  handleShutdownSignals({
    stop: (signal) => {
      console.log(`${signal}: finishing in-flight work, then stopping`);
      worker.shutdown();
    },
    force: () => {
      console.log('Stopping at once; unfinished activities go to another worker after their timeout');
      process.exit(130);
    },
  });
  console.log(
    `Worker polling task queue "${config.REFUNDS_TASK_QUEUE}" on ${address} (namespace ${config.TEMPORAL_NAMESPACE}); ` +
      `ledger: ${ledgerLocation(config)}`,
  );
  await worker.run();
  await connection.close();
  await db.close();
  console.log('Worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`Worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
