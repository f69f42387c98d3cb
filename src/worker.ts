import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from './config.js';
import { openLedgerDatabase, ledgerLocation } from './ledger/index.js';
import { RefundLedger } from './ledger/refunds.js';
import { createLogger } from './logging.js';
import { handleShutdownSignals } from './shutdown.js';
import { decisionVerifyKeys } from './wiring/policies.js';
import { createProviderClients, defaultSandboxUrls, rateLimitersFrom } from './wiring/providers.js';
import { installRuntime, metricsUrl } from './wiring/runtime.js';
import { connectNative } from './wiring/temporal-connect.js';
import { describeTemporalConnection, temporalConnectionOrExit } from './wiring/temporal-connection.js';
import { createWorker } from './wiring/worker.js';
import { AuditTrail } from './ledger/audit.js';
import { currentRelease, describeRelease } from './release.js';
import { firstBuildCurrent } from './wiring/deployments.js';
import { prebuiltWorkflowBundle } from './workflow-bundle.js';

/** `npm run worker`: one worker process on the configured Temporal, ledger and providers. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const temporal = temporalConnectionOrExit();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  const metrics = installRuntime(config, log);
  // First: a compiled worker whose bundle is missing or stale stops here, before the ledger or Temporal.
  const workflowBundle = await prebuiltWorkflowBundle({
    withFailureConverter: config.PAYLOAD_ENCRYPTION_KEYS !== undefined,
    log: (line) => log.info(line),
  });
  const db = await openLedgerDatabase(config);
  log.info(`Connecting to Temporal at ${describeTemporalConnection(temporal)}`);
  const connection = await connectNative(temporal);
  const deps = {
    ledger: new RefundLedger(db),
    providers: createProviderClients(config, defaultSandboxUrls(config), metrics, rateLimitersFrom(config, db)),
    metrics,
  };
  const release = currentRelease();
  const deployment = config.WORKER_VERSIONING === 'off' ? undefined : { name: config.WORKER_DEPLOYMENT_NAME, buildId: release.buildId };
  log.info(
    `${describeRelease(release)}; ` +
      (deployment ? `Worker Versioning on: deployment ${deployment.name}, build ${deployment.buildId}` : 'Worker Versioning off (WORKER_VERSIONING=off)'),
  );
  const worker = await createWorker({ config, connection, deps, workflowBundle, ...(deployment && { deployment }) });
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
    `Worker polling task queue ${config.REFUNDS_TASK_QUEUE} on ${describeTemporalConnection(temporal)}; ` +
      `ledger: ${ledgerLocation(config)}; metrics: ${metricsUrl(config) ?? 'off (METRICS_ADDRESS=off)'}`,
  );
  if (decisionVerifyKeys(config).length === 0 && !config.ALLOW_UNSIGNED_DECISIONS) {
    log.warn(
      "OPERATOR_VERIFY_KEYS is not set: refund runs refuse every approve, reject, cancel and resolution (give it the public half of the API's OPERATOR_SIGNING_KEY; npx refundflow signing-key)",
    );
  }
  const running = worker.run();
  if (deployment) {
    void firstBuildCurrent(connection.workflowService, new AuditTrail(db), { namespace: config.TEMPORAL_NAMESPACE, ...deployment }, log);
  }
  await running;
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
