import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startRefund } from '../../src/client/refunds.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';
import type { MwdRefundRequested, OenRefundRequested, RefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../../src/sandbox/index.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import type { refundWorkflow } from '../../src/workflows/refund.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { crashCasesOn, postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { sandboxClients, useEngine, type Engine } from '../helpers/engine.js';
import { run } from '../helpers/process.js';
import { throughInbox, throughInboxAt } from '../helpers/inbox.js';
import { admin, refundRequestCount, sandboxRefunds } from '../helpers/sandbox.js';
import type { TemporalTarget } from '../helpers/temporal.js';

/**
 * The worker process is SIGKILLed while a provider call is in flight, and another worker takes
 * over, on the same Temporal — the dev server, and the production-shaped cluster — and ledger: PostgreSQL shared by the two, and — so a local run without PostgreSQL
 * guards these too — the embedded PGlite on disk, which the dead worker held and its successor
 * takes over (as `npm start` after a crash does).
 */
const postgres = await postgresAvailable();

const postgresLedger = usePostgresLedger(postgres);

/** Where the killed worker and its successor keep the ledger. */
interface SharedLedger {
  env: Record<string, string>;
  /** The request accepted in it, as the intake accepts it, before the worker process opens it. */
  accept(request: RefundRequested): Promise<void>;
  /** The successor's handle on it, once the killed worker is gone. */
  open(): Promise<Database>;
  close(): Promise<void>;
}

function sharedLedger(kind: 'postgres' | 'pglite'): SharedLedger {
  if (kind === 'postgres') {
    return {
      env: { DATABASE_URL: postgresLedger().url },
      accept: (request) => throughInbox(postgresLedger().db, request),
      open: () => Promise.resolve(postgresLedger().db),
      close: () => Promise.resolve(),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-crash-'));
  let db: Database | undefined;
  return {
    env: { DATA_DIR: dataDir },
    accept: (request) => throughInboxAt(dataDir, request),
    open: async () => (db = await pgliteDatabase(join(dataDir, 'ledger'))),
    close: async () => {
      await db?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the refund with a worker process, kills it once the provider has the request, finishes with another. */
async function crashMidCall(
  engine: () => Engine,
  kind: 'postgres' | 'pglite',
  request: OenRefundRequested | MwdRefundRequested,
  providerUrl: string,
): Promise<RefundRecord> {
  const { temporal, sandboxes } = engine();
  const ledger = sharedLedger(kind);
  const before = await refundRequestCount(providerUrl);
  await ledger.accept(request);
  // The ledger is the one named here: no DATABASE_URL from the environment for the PGlite runs.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL'));
  const workerProcess = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    ...inherited,
    ...ledger.env,
    ...temporal.env,
    REFUNDS_TASK_QUEUE: temporal.taskQueue,
    OEN_BASE_URL: sandboxes.oenUrl,
    OEN_TOKEN: SANDBOX_TOKEN,
    OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
    MWD_BASE_URL: sandboxes.mwdUrl,
    MWD_TOKEN: SANDBOX_TOKEN,
    ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,MWD_BASE_URL',
    METRICS_ADDRESS: 'off',
  });
  try {
    await workerProcess.waitForOutput(/Worker polling/, 120_000);
    const started = await startRefund(temporal.client, temporal.taskQueue, request);
    if (started.kind !== 'started') throw new Error(JSON.stringify(started));
    await expect.poll(() => refundRequestCount(providerUrl), { timeout: 30_000 }).toBe(before + 1);
  } finally {
    workerProcess.signalGroup('SIGKILL');
    await workerProcess.exited;
  }

  try {
    const successor = await engine().worker({}, { ledger: new RefundLedger(await ledger.open()), providers: sandboxClients(sandboxes) });
    const handle = temporal.client.workflow.getHandle<typeof refundWorkflow>(refundWorkflowId(request));
    return await successor.runUntil(handle.result());
  } finally {
    await ledger.close();
  }
}

/**
 * The file's cases on the dev server (test/workflows or test/api, engine project) or on the cluster
 * (test/cluster, cluster project): each Temporal's cases run once, in the project whose global setup
 * starts that Temporal.
 */
export function describeWorkerCrash(target: TemporalTarget): void {
  const engine: () => Engine = useEngine(target === 'dev' ? 'crash' : 'crash-cluster', target);
  describe.each(crashCasesOn(target, postgres))('a worker killed in the middle of a provider call, Temporal $target, ledger on $kind', ({ kind }) => {
    it('Oen: the refund it sent is found on the next attempt; exactly one refund', async () => {
      const { sandboxes } = engine();
      const hid = randomHid();
      const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
      await admin(sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: hid, orderId, amount: 800 }] });
      // The emulator holds the request for 4 s, then refunds: the worker dies while it waits.
      await admin(sandboxes.oenUrl, 'PUT', 'faults', { refund: { latencyMs: 4_000 } });
      const request: OenRefundRequested = { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid: hid, amount: 800 };
      const before = await refundRequestCount(sandboxes.oenUrl);

      const record = await crashMidCall(engine, kind, request, sandboxes.oenUrl);

      expect(record).toMatchObject({ status: 'succeeded', providerReference: hid, attempts: 2 });
      expect((await sandboxRefunds(sandboxes.oenUrl)).filter((r) => r.reference === hid)).toHaveLength(1);
      expect((await refundRequestCount(sandboxes.oenUrl)) - before).toBe(1);
      await admin(sandboxes.oenUrl, 'PUT', 'faults', {});
    }, 210_000);

    it('MWD: the next attempt cannot know, so it hands the refund to a person; exactly one refund', async () => {
      const { sandboxes } = engine();
      const orderId = `2026${Date.now()}${kind}`;
      await admin(sandboxes.mwdUrl, 'POST', 'seed', { orders: [{ orderId, cardToken: 'tok', amount: 90 }] });
      await admin(sandboxes.mwdUrl, 'PUT', 'faults', { refund: { latencyMs: 4_000 } });
      const request: MwdRefundRequested = { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 90, cardToken: 'tok' };
      const before = await refundRequestCount(sandboxes.mwdUrl);

      const record = await crashMidCall(engine, kind, request, sandboxes.mwdUrl);

      expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'MwdOutcomeUnknown' } });
      expect(record.error?.message).toMatch(/attempt 1 of run \S+ sent the refund to MWD and never recorded an answer/);
      expect((await sandboxRefunds(sandboxes.mwdUrl)).filter((r) => r.reference === orderId)).toHaveLength(1);
      expect((await refundRequestCount(sandboxes.mwdUrl)) - before).toBe(1);
      await admin(sandboxes.mwdUrl, 'PUT', 'faults', {});
    }, 210_000);
  });
}
