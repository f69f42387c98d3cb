import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';
import type { MwdRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { readLedgerGauges } from '../../src/ledger/gauges.js';
import { OutcomeOutbox } from '../../src/ledger/outbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { webhookDestination } from '../../src/outcomes/destinations.js';
import { OutcomeRelay, type RelayOptions } from '../../src/outcomes/relay.js';
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
 * The outcome relay the API runs (src/outcomes/relay.ts) on `db`, sending to a webhook at `url`,
 * looking for new events every 50 ms and backing off from 100 ms to 1 s: what delivers outcome
 * events in a test that has no API. Stop it with `close()`.
 */
export async function startOutcomeRelay(db: Database, url: string, secret: string, options: Partial<RelayOptions> = {}): Promise<OutcomeRelay> {
  const relay = new OutcomeRelay({
    outbox: new OutcomeOutbox(db),
    destinations: [webhookDestination({ url, secret })],
    ui: { uiBaseUrl: 'http://localhost:8233', namespace: 'default' },
    pollMs: 50,
    backoffMs: 100,
    maxBackoffMs: 1_000,
    ...options,
  });
  await relay.start();
  return relay;
}

/**
 * Until every outcome event the ledger holds has been taken by every destination a relay on `db`
 * sends to: the outbox's backlog, as the API's /metrics reads it, is empty.
 */
export async function outcomesDelivered(db: Database): Promise<void> {
  await expect.poll(async () => (await readLedgerGauges(db)).outcomes.count, { timeout: 30_000, interval: 50 }).toBe(0);
}

/**
 * One worker for all of a file's tests, running from its first test to its end, with a 5 s retry
 * window, and the outcome relay sending the ledger's outcome events to a receiver of its own; `env`
 * adds configuration. Answers the receiver.
 */
export function useWorkerWithOutcomes(engine: () => Engine, env: Record<string, string> = {}): () => OutcomeReceiver {
  let receiver: OutcomeReceiver | undefined;
  let worker: Worker | undefined;
  let relay: OutcomeRelay | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    const secret = newWebhookSecret();
    receiver = new OutcomeReceiver(secret, 0, Math.random);
    await receiver.start();
    worker = await engine().worker({ PROVIDER_RETRY_WINDOW_SECONDS: '5', ...env });
    relay = await startOutcomeRelay(engine().db, receiver.url, secret);
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await relay?.close();
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
