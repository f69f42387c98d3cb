import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';
import type { MwdRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { MwdClient } from '../../src/providers/mwd/client.js';
import { OenClient } from '../../src/providers/oen/client.js';
import type { ProviderClients } from '../../src/providers/index.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN, startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { createWorker, type EngineDeps } from '../../src/wiring/worker.js';
import { OutcomeReceiver } from '../chaos/processes.js';
import { newWebhookSecret } from './api.js';
import { temporalTestContext, type TemporalTarget, type TemporalTestContext } from './temporal.js';

/** HTTP timeout for the engine in tests: a hung sandbox answers "no answer" in 2 s, not 10. */
export const TEST_PROVIDER_TIMEOUT_MS = 2_000;

export interface Engine {
  temporal: TemporalTestContext;
  sandboxes: RunningSandboxes;
  db: Database;
  ledger: RefundLedger;
  providers: ProviderClients;
  /** A worker on this file's task queue; `env` adds configuration (e.g. APPROVAL_THRESHOLD). */
  worker(env?: Record<string, string>, deps?: Partial<EngineDeps>): Promise<Worker>;
}

export function sandboxClients(sandboxes: Pick<RunningSandboxes, 'oenUrl' | 'mwdUrl'>, token = SANDBOX_TOKEN): ProviderClients {
  return {
    oen: new OenClient({ baseUrl: sandboxes.oenUrl, token, merchantId: SANDBOX_OEN_MERCHANT_ID, timeoutMs: TEST_PROVIDER_TIMEOUT_MS }),
    mwd: new MwdClient({ baseUrl: sandboxes.mwdUrl, token, timeoutMs: TEST_PROVIDER_TIMEOUT_MS }),
  };
}

/** The environment that points a worker process at the emulators, as `sandboxClients` does in process. */
export function sandboxProviderEnv(sandboxes: Pick<RunningSandboxes, 'oenUrl' | 'mwdUrl'>): Record<string, string> {
  return {
    OEN_BASE_URL: sandboxes.oenUrl,
    OEN_TOKEN: SANDBOX_TOKEN,
    OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
    MWD_BASE_URL: sandboxes.mwdUrl,
    MWD_TOKEN: SANDBOX_TOKEN,
    ALLOW_PLAIN_HTTP: TEST_PLAIN_HTTP,
  };
}

/** The emulators and the tests' outcome receivers listen on loopback without TLS: named, as a deployment would name them. */
export const TEST_PLAIN_HTTP = 'OEN_BASE_URL,MWD_BASE_URL,OUTCOME_WEBHOOK_URL';

/**
 * The whole engine for a test file, from real parts: the suite's Temporal dev server (or its
 * cluster, `target`), both sandbox emulators over HTTP, and a PGlite ledger.
 */
export function useEngine(fileTag: string, target: TemporalTarget = 'dev'): () => Engine {
  let engine: Engine | undefined;
  beforeAll(async () => {
    const temporal = await temporalTestContext(fileTag, target);
    const sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
    const db = await pgliteDatabase();
    await migrate(db);
    const ledger = new RefundLedger(db);
    const providers = sandboxClients(sandboxes);
    engine = {
      temporal,
      sandboxes,
      db,
      ledger,
      providers,
      worker: (env = {}, deps = {}) =>
        createWorker({
          config: loadConfig({ TEMPORAL_ADDRESS: temporal.address, REFUNDS_TASK_QUEUE: temporal.taskQueue, ALLOW_PLAIN_HTTP: TEST_PLAIN_HTTP, ...env }),
          connection: temporal.connection,
          workflowBundle: temporal.workflowBundle,
          deps: { ledger, providers, ...deps },
        }),
    };
  });
  afterAll(async () => {
    await engine?.temporal.close();
    await engine?.sandboxes.close();
    await engine?.db.close();
  });
  return () => {
    if (!engine) throw new Error('the engine runs only inside tests');
    return engine;
  };
}

/**
 * One worker for all of a file's tests, running from its first test to its end, with a 5 s retry
 * window and its outcome events sent to a receiver of its own; `env` adds configuration. Answers
 * the receiver.
 */
export function useWorkerWithOutcomes(engine: () => Engine, env: Record<string, string> = {}): () => OutcomeReceiver {
  let receiver: OutcomeReceiver | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    const secret = newWebhookSecret();
    receiver = new OutcomeReceiver(secret, 0, Math.random);
    await receiver.start();
    worker = await engine().worker({ PROVIDER_RETRY_WINDOW_SECONDS: '5', OUTCOME_WEBHOOK_URL: receiver.url, OUTCOME_WEBHOOK_SECRET: secret, ...env });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await receiver?.close();
  });
  return () => {
    if (!receiver) throw new Error('the outcome receiver runs only inside tests');
    return receiver;
  };
}

/** An MWD refund the engine's ledger holds in requires_attention, with no run of its own: for what a resolution does before MWD would matter. */
export async function mwdInLedger(engine: Engine): Promise<MwdRefundRequested> {
  const request: MwdRefundRequested = {
    refundId: `RF-${randomUUID()}`,
    provider: 'mwd',
    orderId: `MWD-${randomUUID().slice(0, 8)}`,
    amount: 550,
    cardToken: 'tok',
  };
  await engine.ledger.open(request, refundWorkflowId(request));
  await engine.ledger.transition(request.refundId, 'submitting');
  await engine.ledger.transition(request.refundId, 'requires_attention', { error: { code: 'MwdOutcomeUnknown', message: 'sent, never answered' } });
  return request;
}
