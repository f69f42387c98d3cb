import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, WorkflowIdReusePolicy } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId, refundStartOptions, refundWorkflowId, subscriptionWorkflowId } from '../../src/domain/refund-start.js';
import { apiMetricNames } from '../../src/api/metrics.js';
import { codes } from '../../src/domain/failures.js';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret } from '../helpers/api.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { sandboxProviderEnv, useEngine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { admin, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';

/**
 * Temporal is a door (money-safety rule 8): runs started straight through it — as the `temporal` CLI,
 * the Web UI's Start Workflow or any SDK client would, with input that looks valid — end at the
 * request gate with NotRequested before any provider call, and are written to the audit trail and
 * counted on the API's /metrics. Real processes throughout: a worker process and an API process on one
 * PostgreSQL ledger, the Temporal dev server, both emulators over HTTP. The same processes refund
 * what the API accepted, so a gate that stopped everything would fail here too.
 */
const postgres = await postgresAvailable();
const engine = useEngine('temporal-door');
const ledger = usePostgresLedger(postgres);

interface Processes {
  apiUrl: string;
  secret: string;
  viewerKey: string;
  children: RunningProcess[];
  dataDir: string;
}

let processes: Processes | undefined;
const started = () => {
  if (!processes) throw new Error('the processes run only inside tests');
  return processes;
};

beforeAll(async () => {
  if (!postgres) return;
  const { temporal, sandboxes } = engine();
  const [apiPort, metricsPort] = await freePorts(2);
  const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-temporal-door-'));
  const secret = newWebhookSecret();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL'));
  const shared = { ...inherited, ...temporal.env, REFUNDS_TASK_QUEUE: temporal.taskQueue, DATABASE_URL: ledger().url, DATA_DIR: dataDir };
  const worker = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    ...shared,
    ...sandboxProviderEnv(sandboxes),
    METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
  });
  const api = run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], { ...shared, PORT: String(apiPort), INGEST_WEBHOOK_SECRET: secret });
  processes = { apiUrl: `http://127.0.0.1:${apiPort}`, secret, viewerKey: '', children: [worker, api], dataDir };
  // Both start at once: waited for together, the slower one's deadline is the hook's.
  await Promise.all([worker.waitForOutput(/Worker polling/, 120_000), api.waitForOutput(/API listening/, 60_000)]);
  processes.viewerKey = (await new ApiKeys(ledger().db).add(`viewer-${randomUUID().slice(0, 8)}`, 'viewer', 'temporal door test')).key;
}, 180_000);

afterAll(async () => {
  for (const child of processes?.children ?? []) child.signalGroup('SIGTERM');
  await Promise.all((processes?.children ?? []).map((child) => child.exited));
  if (processes) rmSync(processes.dataDir, { recursive: true, force: true });
});

/** Every request both emulators have had, of any kind (refund, list, subscription). */
async function providerRequests(): Promise<number> {
  const { sandboxes } = engine();
  const counts = await Promise.all(
    [sandboxes.oenUrl, sandboxes.mwdUrl].map(async (url) =>
      Object.values((await admin<{ requests: Record<string, number> }>(url, 'GET', 'requests')).requests),
    ),
  );
  return counts.flat().reduce((sum, n) => sum + n, 0);
}

/** The run's failure: an ApplicationFailure of the type the gate gives. */
async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err: unknown = await handle.result().then(
    () => new Error('the run completed'),
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure)) throw new Error(`not a run failure: ${String(err)}`);
  return err.cause;
}

async function notRequestedRunsMetric(): Promise<number> {
  const { apiUrl, viewerKey } = started();
  const text = await (await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${viewerKey}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${apiMetricNames.notRequestedRuns} `));
  if (!line) throw new Error(`${apiMetricNames.notRequestedRuns} is not on /metrics`);
  return Number(line.split(' ')[1]);
}

async function sendEvent(type: string, data: unknown): Promise<void> {
  const { apiUrl, secret } = started();
  const id = `evt_${randomUUID()}`;
  const body = JSON.stringify({ specversion: '1.0', id, source: 'order-management', type, data });
  const response = await fetch(`${apiUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...new Signer(secret).sign(id, body) },
    body,
  });
  expect(response.status).toBe(202);
}

/** What each door case starts through the client, and what may not exist after it. */
interface DoorCase {
  name: string;
  start: () => Promise<{ handle: WorkflowHandleWithFirstExecutionRunId; refundId?: string }>;
}

const refundRun = async (request: RefundRequested, reuse?: WorkflowIdReusePolicy) => {
  const { client, taskQueue } = engine().temporal;
  const options = refundStartOptions(request);
  const handle = await client.workflow.start('refundWorkflow', {
    ...options,
    ...(reuse !== undefined && { workflowIdReusePolicy: reuse }),
    taskQueue,
    args: [request],
  });
  return { handle, refundId: request.refundId };
};

const doorCases: DoorCase[] = [
  { name: 'an Oen refund (refundWorkflow)', start: async () => refundRun(await seededOenRefund(engine().sandboxes.oenUrl)) },
  { name: 'an MWD refund (refundWorkflow)', start: async () => refundRun(await seededMwdRefund(engine().sandboxes.mwdUrl)) },
  {
    name: 'an Oen refund named as an order’s refund is (<orderId>:<transactionHid>), with no parent',
    start: async () => {
      const request = await seededOenRefund(engine().sandboxes.oenUrl);
      return refundRun({ ...request, refundId: `${request.orderId}:${request.transactionHid}` });
    },
  },
  {
    name: 'a whole Oen order (refundOrderWorkflow)',
    start: async () => {
      const { orderId } = await seededOenRefund(engine().sandboxes.oenUrl);
      const { client, taskQueue } = engine().temporal;
      return {
        handle: await client.workflow.start('refundOrderWorkflow', { taskQueue, workflowId: orderWorkflowId(orderId), args: [{ orderId, provider: 'oen' }] }),
      };
    },
  },
  {
    name: 'a subscription cancel (cancelSubscriptionWorkflow)',
    start: async () => {
      const subscriptionId = `SUB-${randomUUID().slice(0, 8)}`;
      const { client, taskQueue } = engine().temporal;
      return {
        handle: await client.workflow.start('cancelSubscriptionWorkflow', {
          taskQueue,
          workflowId: subscriptionWorkflowId(subscriptionId),
          args: [{ provider: 'oen', subscriptionId }],
        }),
      };
    },
  },
];

describe.skipIf(!postgres)('runs started straight through Temporal, for no request the API accepted', () => {
  it('the API’s processes refund what the API accepted: a refund.requested and an order.cancelled', async () => {
    const { sandboxes } = engine();
    const refunds = new RefundLedger(ledger().db);
    const request = await seededOenRefund(sandboxes.oenUrl);
    await sendEvent('refund.requested', request);
    const order = await seededOenRefund(sandboxes.oenUrl);
    await sendEvent('order.cancelled', { orderId: order.orderId, provider: 'oen' });
    await expect.poll(async () => (await refunds.get(request.refundId))?.status, { timeout: 60_000 }).toBe('succeeded');
    await expect.poll(async () => (await refunds.get(`${order.orderId}:${order.transactionHid}`))?.status, { timeout: 60_000 }).toBe('succeeded');
  }, 150_000);

  it.each(doorCases)('$name ends NotRequested before any provider call, audited and counted', async ({ start }) => {
    const audit = new AuditTrail(ledger().db);
    const requestsBefore = await providerRequests();
    const metricBefore = await notRequestedRunsMetric();

    const { handle, refundId } = await start();
    const failure = await failureOf(handle);
    expect(failure.type).toBe(codes.NotRequested);
    expect(failure.message).toContain(handle.workflowId);
    expect(failure.nonRetryable).toBe(true);

    expect(await providerRequests()).toBe(requestsBefore);
    if (refundId !== undefined) expect(await new RefundLedger(ledger().db).get(refundId)).toBeUndefined();
    const { entries } = await audit.list({ actor: 'temporal', limit: 1000 });
    const row = entries.find((e) => (e.detail as { workflowId?: string } | undefined)?.workflowId === handle.workflowId);
    expect(row).toMatchObject({ action: 'run.not_requested', outcome: 'refused', actor: { id: 'temporal', name: 'through Temporal, person unknown' } });
    expect(row?.detail).toMatchObject({ runId: handle.firstExecutionRunId });
    await expect.poll(notRequestedRunsMetric).toBe(metricBefore + 1);
  });

  it('a run carrying an accepted refund’s id with another amount, its workflow id reused by hand, sends nothing and leaves the refund as it was', async () => {
    const { sandboxes } = engine();
    const refunds = new RefundLedger(ledger().db);
    const request = await seededOenRefund(sandboxes.oenUrl);
    await sendEvent('refund.requested', request);
    await expect.poll(async () => (await refunds.get(request.refundId))?.status, { timeout: 60_000 }).toBe('succeeded');
    // The run goes on after the ledger says succeeded (it tells order management): a new run of its
    // workflow id can be started only once it has closed.
    await engine().temporal.client.workflow.getHandle(refundWorkflowId(request)).result();
    const requestsBefore = await providerRequests();
    const { handle } = await refundRun({ ...request, amount: request.amount - 1 }, WorkflowIdReusePolicy.ALLOW_DUPLICATE);
    const failure = await failureOf(handle);
    expect(failure.type).toBe(codes.NotRequested);
    expect(failure.message).toContain('was accepted with other contents');
    expect(await providerRequests()).toBe(requestsBefore);
    expect(await refunds.get(request.refundId)).toMatchObject({ status: 'succeeded', amount: request.amount });
  }, 90_000);

  it('a run under a workflow id of its own choosing, as `temporal workflow start` without --workflow-id makes, is refused too', async () => {
    const { client, taskQueue } = engine().temporal;
    const request = await seededOenRefund(engine().sandboxes.oenUrl);
    const handle = await client.workflow.start('refundWorkflow', { taskQueue, workflowId: `by-hand-${randomUUID()}`, args: [request] });
    const failure = await failureOf(handle);
    expect(failure.type).toBe(codes.NotRequested);
    expect(failure.message).toContain(`not as ${handle.workflowId}`);
  });
});
