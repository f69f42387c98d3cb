import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { retryMetricsInterceptor } from '../activities/retry-metrics.js';
import { workerDataConverter } from '../codec/data-converter.js';
import type { Config } from '../config.js';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import { OutcomeDeliveryLog } from '../ledger/outcomes.js';
import { ReconciliationLedger } from '../ledger/reconciliation.js';
import type { RefundLedger } from '../ledger/refunds.js';
import { ResolutionLedger } from '../ledger/resolution.js';
import { RequestGate } from '../ledger/acceptance.js';
import { SubscriptionLedger } from '../ledger/subscriptions.js';
import type { ProviderClients } from '../providers/index.js';
import { outcomeTargetFrom, reconcilePolicyFrom, refundPolicyFrom } from './policies.js';

/**
 * The workflow bundle's entry: every workflow type the worker runs. index.ts when this runs from
 * source, index.js when compiled (npm run build): the bundle is made of the code the worker runs.
 */
export const workflowsPath = fileURLToPath(new URL(`../workflows/index${extname(import.meta.url)}`, import.meta.url));

/** What the activities work with: the ledger, the provider clients, and where metrics go. */
export interface EngineDeps {
  ledger: RefundLedger;
  providers: ProviderClients;
  metrics?: EngineMetrics;
  /** The request gate, reconciliation's, resolutions' and the subscriptions' ledgers, and the outcome delivery log: the refund ledger's database unless given. */
  gate?: RequestGate;
  reconciliation?: ReconciliationLedger;
  resolution?: ResolutionLedger;
  subscriptions?: SubscriptionLedger;
  deliveryLog?: OutcomeDeliveryLog;
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
  /**
   * Worker Versioning (docs/engine.md, "Releases"): the worker polls as this build of the named
   * Worker Deployment, and a workflow type without a behavior of its own (src/workflows/index.ts)
   * is PINNED. Unset: an unversioned worker (npm start's own, and the tests').
   */
  deployment?: { name: string; buildId: string };
}

export async function createWorker({ config, connection, deps, workflowBundle, deployment }: CreateWorkerOptions): Promise<Worker> {
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
      gate: deps.gate ?? new RequestGate(deps.ledger.db),
      reconciliation: deps.reconciliation ?? new ReconciliationLedger(deps.ledger.db),
      resolution: deps.resolution ?? new ResolutionLedger(deps.ledger.db),
      subscriptions: deps.subscriptions ?? new SubscriptionLedger(deps.ledger.db),
      deliveryLog: deps.deliveryLog ?? new OutcomeDeliveryLog(deps.ledger.db),
    }),
    interceptors: { activity: [retryMetricsInterceptor(deps.metrics ?? noMetrics)] },
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    // On shutdown, running activities get this long to finish; after it they are cancelled and
    // Temporal hands them to another worker once their timeout passes.
    shutdownGraceTime: '10 seconds',
    ...(deployment && {
      workerDeploymentOptions: {
        useWorkerVersioning: true,
        version: { deploymentName: deployment.name, buildId: deployment.buildId },
        defaultVersioningBehavior: 'PINNED',
      },
    }),
  });
}
