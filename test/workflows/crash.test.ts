import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startRefund } from '../../src/client/refunds.js';
import { refundWorkflowId, type MwdRefundRequested, type OenRefundRequested, type RefundRecord } from '../../src/domain/refund.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../../src/sandbox/index.js';
import { randomHid } from '../../src/sandbox/oen.js';
import type { refundWorkflow } from '../../src/workflows/refund.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { sandboxClients, useEngine } from '../helpers/engine.js';
import { run } from '../helpers/process.js';
import { admin, refundRequestCount, sandboxRefunds } from '../helpers/sandbox.js';

/**
 * The worker process is SIGKILLed while a provider call is in flight, and another worker takes
 * over. Two processes share the ledger, so this runs on PostgreSQL.
 */
const postgres = await postgresAvailable();
const engine = useEngine('crash');

const ledger = usePostgresLedger(postgres);

/** Starts the refund with a worker process, kills it once the provider has the request, finishes with another. */
async function crashMidCall(request: OenRefundRequested | MwdRefundRequested, providerUrl: string): Promise<RefundRecord> {
  const { temporal, sandboxes } = engine();
  const before = await refundRequestCount(providerUrl);
  const workerProcess = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    REFUNDS_TASK_QUEUE: temporal.taskQueue,
    DATABASE_URL: ledger().url,
    OEN_BASE_URL: sandboxes.oenUrl,
    OEN_TOKEN: SANDBOX_TOKEN,
    OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
    MWD_BASE_URL: sandboxes.mwdUrl,
    MWD_TOKEN: SANDBOX_TOKEN,
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

  const successor = await engine().worker({}, { ledger: new RefundLedger(ledger().db), providers: sandboxClients(sandboxes) });
  const handle = temporal.client.workflow.getHandle<typeof refundWorkflow>(refundWorkflowId(request));
  return successor.runUntil(handle.result());
}

describe.skipIf(!postgres)('a worker killed in the middle of a provider call', () => {
  it('Oen: the refund it sent is found on the next attempt; exactly one refund', async () => {
    const { sandboxes } = engine();
    const hid = randomHid();
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    await admin(sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: hid, orderId, amount: 800 }] });
    // The emulator holds the request for 4 s, then refunds: the worker dies while it waits.
    await admin(sandboxes.oenUrl, 'PUT', 'faults', { refund: { latencyMs: 4_000 } });
    const request: OenRefundRequested = { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid: hid, amount: 800 };
    const before = await refundRequestCount(sandboxes.oenUrl);

    const record = await crashMidCall(request, sandboxes.oenUrl);

    expect(record).toMatchObject({ status: 'succeeded', providerReference: hid, attempts: 2 });
    expect((await sandboxRefunds(sandboxes.oenUrl)).filter((r) => r.reference === hid)).toHaveLength(1);
    expect((await refundRequestCount(sandboxes.oenUrl)) - before).toBe(1);
    await admin(sandboxes.oenUrl, 'PUT', 'faults', {});
  }, 120_000);

  it('MWD: the next attempt cannot know, so it hands the refund to a person; exactly one refund', async () => {
    const { sandboxes } = engine();
    const orderId = `2026${Date.now()}`;
    await admin(sandboxes.mwdUrl, 'POST', 'seed', { orders: [{ orderId, cardToken: 'tok', amount: 90 }] });
    await admin(sandboxes.mwdUrl, 'PUT', 'faults', { refund: { latencyMs: 4_000 } });
    const request: MwdRefundRequested = { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 90, cardToken: 'tok' };
    const before = await refundRequestCount(sandboxes.mwdUrl);

    const record = await crashMidCall(request, sandboxes.mwdUrl);

    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'MwdOutcomeUnknown' } });
    expect(record.error?.message).toMatch(/attempt 1 of run \S+ sent the refund to MWD and never recorded an answer/);
    expect((await sandboxRefunds(sandboxes.mwdUrl)).filter((r) => r.reference === orderId)).toHaveLength(1);
    expect((await refundRequestCount(sandboxes.mwdUrl)) - before).toBe(1);
    await admin(sandboxes.mwdUrl, 'PUT', 'faults', {});
  }, 120_000);
});
