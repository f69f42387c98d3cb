import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { clientDataConverter } from '../codec/data-converter.js';
import { loadConfigOrExit, uiBaseUrl, type Config } from '../config.js';
import type { Database } from '../ledger/database.js';
import { EventInbox } from '../ledger/inbox.js';
import { OutcomeOutbox } from '../ledger/outbox.js';
import { webhookDestination, type OutcomeDestination } from '../outcomes/destinations.js';
import { OutcomeRelay } from '../outcomes/relay.js';
import { amqpDestination, natsDestination } from '../outcomes/broker-destinations.js';
import { ledgerLocation, openLedgerDatabase } from '../ledger/index.js';
import { RefundLedger } from '../ledger/refunds.js';
import { createLogger } from '../logging.js';
import { handleShutdownSignals } from '../shutdown.js';
import { oidcSettings } from '../wiring/policies.js';
import { connectClient } from '../wiring/temporal-connect.js';
import { describeTemporalConnection, temporalConnectionOrExit } from '../wiring/temporal-connection.js';
import { workflowUiUrl } from '../domain/ui.js';
import { Admission } from './admission.js';
import { startDispatcher, type Dispatcher } from './dispatcher.js';
import { EventIntake } from './intake.js';
import { createApi } from './server.js';
import { Signer } from '../webhooks/signing.js';
import { IntakeMonitor, startBrokerIntakes, type RunningIntake } from './brokers/index.js';

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  dispatcher: Dispatcher;
  /** Delivers the outbox's outcome events to the configured destinations (none configured: it only registers that). */
  relay: OutcomeRelay;
  /** The broker intakes AMQP_URL and NATS_URL turn on (none without them), and how each stands. */
  intakes: RunningIntake[];
  intakeMonitor: IntakeMonitor;
  /** The API's logger (JSON lines, card numbers and secrets redacted). */
  logger: Logger;
  close(): Promise<void>;
}

/**
 * The API and its inbox dispatcher on an open ledger and Temporal client: what `npm run api` runs
 * on its own, and `npm start` in its one process (where the API shares the worker's PGlite).
 */
export async function startApi(options: {
  config: Config;
  client: Client;
  db: Database;
  webhookSecret: string;
  /** OPERATOR_SIGNING_KEY, or npm start's development key. */
  signingKey?: string | undefined;
  host?: string;
  /** Where the API logs; by default JSON lines on stdout at LOG_LEVEL (src/logging.ts). */
  logger?: Logger;
}): Promise<RunningApi> {
  const { config, client, db } = options;
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL, name: 'api' });
  const inbox = new EventInbox(db);
  const ledger = new RefundLedger(db);
  const ui = { uiBaseUrl: uiBaseUrl(config), namespace: config.TEMPORAL_NAMESPACE };
  const relay = new OutcomeRelay({
    outbox: new OutcomeOutbox(db),
    destinations: outcomeDestinations(config),
    ui,
    log: { warn: (line) => logger.warn(line), info: (line) => logger.info(line) },
  });
  const signer = new Signer(options.webhookSecret);
  const admission = config.RUNNING_REFUNDS_LIMIT > 0 ? new Admission(ledger, { limit: config.RUNNING_REFUNDS_LIMIT }) : undefined;
  const intakeMonitor = new IntakeMonitor(logger);
  const app = createApi({
    relay,
    logger,
    client,
    db,
    ledger,
    inbox,
    signer,
    intakes: intakeMonitor,
    ...(admission && { admission }),
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.REFUNDS_TASK_QUEUE,
    deploymentName: config.WORKER_DEPLOYMENT_NAME,
    uiBaseUrl: uiBaseUrl(config),
    ...(config.OPERATOR_TOKEN !== undefined && { operatorToken: config.OPERATOR_TOKEN }),
    ...(config.DUAL_APPROVAL_THRESHOLD !== undefined && { dualApprovalThreshold: config.DUAL_APPROVAL_THRESHOLD }),
    ...(options.signingKey !== undefined && { signingKey: options.signingKey }),
    ...(oidcSettings(config) && { oidc: oidcSettings(config) }),
  });
  if (config.OPERATOR_TOKEN) {
    logger.warn(
      'OPERATOR_TOKEN is deprecated and will be removed in the next release: it still acts as an approver named "OPERATOR_TOKEN (deprecated)"; give each person or service a named key (npx refundflow operator add) or sign in through OIDC',
    );
  }
  if (!options.signingKey)
    logger.warn('OPERATOR_SIGNING_KEY is not set: approve, reject, cancel and resolve answer 503 (npx refundflow signing-key makes a key pair)');
  try {
    await app.listen({ port: config.PORT, host: options.host ?? '0.0.0.0' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`Port ${config.PORT} for the API is already in use (set PORT)`);
    throw err;
  }
  const dispatcher = startDispatcher({ inbox, ledger, client, taskQueue: config.REFUNDS_TASK_QUEUE, ...(admission && { admission }) });
  await relay.start();
  // The brokers' messages take the HTTP intake's path after their transport. A message without a
  // signature is taken only when INGEST_WEBHOOK_SECRET is not set (npm start's own secret signs what
  // it is given, and checks any signature a message carries; docs/api.md, "Signatures").
  const brokerIntake = new EventIntake({
    inbox,
    ledger,
    client,
    taskQueue: config.REFUNDS_TASK_QUEUE,
    ...(admission && { admission }),
    signer,
    uiUrl: (workflowId) => workflowUiUrl(uiBaseUrl(config), config.TEMPORAL_NAMESPACE, workflowId),
  });
  const intakes = startBrokerIntakes(config, {
    intake: brokerIntake,
    monitor: intakeMonitor,
    log: logger,
    signatureRequired: config.INGEST_WEBHOOK_SECRET !== undefined,
  });
  return {
    app,
    url: `http://localhost:${config.PORT}`,
    dispatcher,
    relay,
    intakes,
    intakeMonitor,
    logger,
    async close() {
      // Consuming stops first: the messages in hand finish (acked, or left to the broker) while the ledger is still open.
      await Promise.all(intakes.map((intake) => intake.close()));
      await dispatcher.stop();
      await admission?.stop();
      await relay.close();
      await app.close();
      logger.flush();
    },
  };
}

/**
 * Where the relay sends outcome events: the webhook when OUTCOME_WEBHOOK_URL (and its secret) is
 * set, a RabbitMQ exchange with OUTCOME_AMQP_EXCHANGE, a NATS subject with OUTCOME_NATS_SUBJECT.
 */
function outcomeDestinations(config: Config): OutcomeDestination[] {
  const destinations: OutcomeDestination[] = [];
  const secret = config.OUTCOME_WEBHOOK_SECRET;
  if (config.OUTCOME_WEBHOOK_URL && secret) destinations.push(webhookDestination({ url: config.OUTCOME_WEBHOOK_URL, secret }));
  if (config.OUTCOME_AMQP_EXCHANGE && config.AMQP_URL) {
    destinations.push(amqpDestination({ url: config.AMQP_URL, exchange: config.OUTCOME_AMQP_EXCHANGE, secret }));
  }
  if (config.OUTCOME_NATS_SUBJECT && config.NATS_URL) {
    destinations.push(
      natsDestination({ servers: config.NATS_URL.join(','), subject: config.OUTCOME_NATS_SUBJECT, stream: config.OUTCOME_NATS_STREAM, secret }),
    );
  }
  return destinations;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (!config.INGEST_WEBHOOK_SECRET) {
    console.error('INGEST_WEBHOOK_SECRET is required for the API on its own (npm start generates one for development)');
    process.exit(1);
  }
  const temporal = temporalConnectionOrExit();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'api' });
  const db = await openLedgerDatabase(config);
  log.info(`Connecting to Temporal at ${describeTemporalConnection(temporal)}`);
  const connection = await connectClient(temporal);
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: clientDataConverter(config) });
  const api = await startApi({
    config,
    client,
    db,
    webhookSecret: config.INGEST_WEBHOOK_SECRET,
    signingKey: config.OPERATOR_SIGNING_KEY,
    logger: log,
  });
  log.info(`API listening on ${api.url}; Temporal ${describeTemporalConnection(temporal)}; ledger: ${ledgerLocation(config)}`);
  await new Promise<void>((resolve) => {
    handleShutdownSignals({
      stop: (signal) => {
        log.info(`${signal}: finishing requests in flight, then stopping`);
        resolve();
      },
      force: () => process.exit(130),
    });
  });
  await api.close();
  await connection.close();
  await db.close();
  log.info('API stopped');
  log.flush();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`API failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
