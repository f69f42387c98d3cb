import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clientDataConverter } from '../../src/codec/data-converter.js';
import { loadConfig } from '../../src/config.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { prebuiltWorkflowBundle } from '../../src/workflow-bundle.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { createWorker } from '../../src/wiring/worker.js';
import {
  ARTIFACTS,
  chromiumMissing,
  launchChromium,
  listenCodecServer,
  localStorageText,
  newPage,
  openRunActions,
  signInAtCodecServer,
  runActionsMenu,
  writeActions,
} from '../helpers/browser.js';
import { sandboxClients } from '../helpers/engine.js';
import { seededOenRefund } from '../helpers/sandbox.js';
import { cancelWaitingRefund, targetConnectionOptions } from '../helpers/temporal.js';
import { startAccepted } from '../helpers/inbox.js';

/**
 * The Web UI as compose and `npm run cluster` serve it: the standalone UI server in front of the
 * suite's production-shaped cluster (test/helpers/cluster.ts), started with deploy/temporal/ui.env —
 * the codec endpoint with the browser's credentials, and the write actions that go around the engine
 * turned off. An operator signs in at the codec server and reads payloads decoded, with no codec
 * setting of the browser's own (the dev server's UI needs one: test/browser/ui.test.ts).
 */
const cluster = inject('cluster');
const KEYS = `cluster-ui-test:${randomBytes(32).toString('base64')}`;
const CODEC_TOKEN = randomBytes(24).toString('base64url');
/** Where the UI server sends the browser for decoding: the test's codec server listens there. */
const codecUrl = `http://localhost:${cluster.codecPort}`;
const skip = chromiumMissing();

let sandboxes: RunningSandboxes;
let db: Database;
let codecServer: FastifyInstance;
let connection: NativeConnection;
let clientConnection: Connection;
let worker: Worker;
let running: Promise<void>;
let workerFailure: Error | undefined;
let browser: Browser;
let client: Client;
let taskQueue: string;
let refund: OenRefundRequested;
let workflowId: string;
let waitingId: string | undefined;

async function start(request: OenRefundRequested): Promise<string> {
  const started = await startAccepted(client, taskQueue, db, request);
  if (started.kind !== 'started') throw new Error(JSON.stringify(started));
  return started.workflowId;
}

beforeAll(async () => {
  if (skip) return;
  taskQueue = `cluster-ui-${randomUUID()}`;
  const config = loadConfig({
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_NAMESPACE: cluster.namespace,
    REFUNDS_TASK_QUEUE: taskQueue,
    PAYLOAD_ENCRYPTION_KEYS: KEYS,
    // Refunds of NT$5,000 and more wait for an operator: a running refund's page has the actions menu.
    APPROVAL_THRESHOLD: '5000',
    // The codec server's allowed origin is the UI's, as compose derives it.
    TEMPORAL_UI_URL: cluster.uiUrl,
  });
  codecServer = await listenCodecServer(config, CODEC_TOKEN, cluster.codecPort);
  sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
  db = await pgliteDatabase();
  await migrate(db);
  const options = targetConnectionOptions('cluster');
  connection = await NativeConnection.connect(options);
  // The worker process's own path: the cached bundle with the encrypting failure converter.
  worker = await createWorker({
    config,
    connection,
    workflowBundle: await prebuiltWorkflowBundle({ withFailureConverter: true, log: () => undefined }),
    deps: { ledger: new RefundLedger(db), providers: sandboxClients(sandboxes) },
  });
  running = worker.run().catch((err: unknown) => {
    workerFailure = err instanceof Error ? err : new Error(JSON.stringify(err));
  });
  clientConnection = await Connection.connect(options);
  client = new Client({ connection: clientConnection, namespace: cluster.namespace, dataConverter: clientDataConverter(config) });

  refund = await seededOenRefund(sandboxes.oenUrl, { reason: 'read on the cluster' });
  workflowId = await start(refund);
  expect((await client.workflow.getHandle<() => Promise<RefundRecord>>(workflowId).result()).status).toBe('succeeded');

  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (waitingId) await cancelWaitingRefund(client, waitingId);
  worker?.shutdown();
  await running;
  if (workerFailure) throw workerFailure;
  await clientConnection?.close();
  await connection?.close();
  await codecServer?.close();
  await sandboxes?.close();
  await db?.close();
}, 60_000);

const runPage = (id: string) => `${cluster.uiUrl}/namespaces/${cluster.namespace}/workflows/${encodeURIComponent(id)}`;
const listPage = () => `${cluster.uiUrl}/namespaces/${cluster.namespace}/workflows`;
/** The list with this file's runs alone: the suite's other files run refunds on the cluster too. */
const ownRuns = () => `${listPage()}?query=${encodeURIComponent(`TaskQueue="${taskQueue}"`)}`;

/** A page in a fresh browser context, signed in at the codec server and nothing more. */
async function signedInPage(): Promise<Page> {
  const page = await newPage(browser);
  await signInAtCodecServer(page, codecUrl, CODEC_TOKEN);
  return page;
}

describe.skipIf(skip)("the cluster's UI server, in Chromium", () => {
  it('its settings carry the codec endpoint with credentials, and turn off every action that changes a run', async () => {
    const response = await fetch(`${cluster.uiUrl}/api/v1/settings`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      Codec: { Endpoint: codecUrl, IncludeCredentials: true },
      DisableWriteActions: true,
      WorkflowCancelDisabled: true,
      WorkflowSignalDisabled: true,
      WorkflowUpdateDisabled: true,
      ActivityCommandsDisabled: true,
      WorkflowTerminateDisabled: true,
      WorkflowResetDisabled: true,
      BatchActionsDisabled: true,
      StartWorkflowDisabled: true,
    });
  });

  it('a browser not signed in at the codec server sees only ciphertext', async () => {
    const page = await newPage(browser);
    await page.goto(runPage(workflowId));
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain('encryption-key-id');
    const text = await page.locator('body').innerText();
    // The UI did call the codec server the UI server names, which refused it without the sign-in cookie.
    expect(text).toContain('Codec Server could not connect');
    expect(text).not.toContain(refund.refundId);
    expect(text).not.toContain('read on the cluster');
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-ui-0-not-signed-in.png'), fullPage: true });
    await page.close();
  });

  it('signed in at the codec server, with no codec setting of its own, the browser shows the refund decoded', async () => {
    const page = await signedInPage();
    await page.goto(runPage(workflowId));
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain(`"refundId": "${refund.refundId}"`);
    const text = await page.locator('body').innerText();
    expect(text).toContain(`"transactionHid": "${refund.transactionHid}"`);
    expect(text).toContain('"reason": "read on the cluster"');
    expect(text).toContain('"status": "succeeded"');
    // Each step's summary is a payload too.
    expect(text).toContain(`Oen refund ${refund.transactionHid} NT$1,000`);
    expect(text).not.toContain('encryption-key-id');
    expect(text).not.toContain('Codec Server could not connect');
    expect(text).not.toContain('binary/encrypted');
    expect(text).not.toContain('YmluYXJ5L2VuY3J5cHRlZA==');
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-ui-1-refund-decoded.png'), fullPage: true });

    // The endpoint came from the UI server: this browser has none of its own.
    expect(await localStorageText(page)).not.toContain(`localhost:${cluster.codecPort}`);

    // A closed run: its Reset is shown disabled (the UI gives no reason here, unlike a running run's
    // menu), and it cannot be started again from here.
    await openRunActions(page);
    expect(await writeActions(page)).toMatchObject({ terminate: 'absent', reset: 'disabled', startWorkflow: 'disabled' });
    await page.close();
  }, 120_000);

  it("a running refund's page offers no action that changes it: Request Cancellation and the actions menu are disabled", async () => {
    const waiting = await seededOenRefund(sandboxes.oenUrl, { amount: 6000, reason: 'waits for an approver' }, { amount: 6000 });
    waitingId = await start(waiting);
    const handle = client.workflow.getHandle(waitingId);
    await expect.poll(async () => (await handle.query(statusQuery)).status, { timeout: 30_000 }).toBe('awaiting_approval');

    const page = await signedInPage();
    await page.goto(runPage(waitingId));
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain(`"refundId": "${waiting.refundId}"`);
    // The menu holding Signal, Update, Terminate and Reset cannot be opened; none of them is on the page.
    expect(await runActionsMenu(page)).toBe('disabled');
    expect(await writeActions(page)).toMatchObject({
      cancel: 'disabled',
      signal: 'absent',
      update: 'absent',
      terminate: 'absent',
      reset: 'absent',
      startWorkflow: 'absent',
    });
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-ui-2-actions-off.png'), fullPage: true });
    await page.close();
  }, 120_000);

  it('the workflow list has no batch actions and no Start Workflow, and the start page sends the browser back', async () => {
    const page = await signedInPage();
    await page.goto(ownRuns());
    await page.getByRole('link', { name: workflowId }).waitFor({ timeout: 30_000 });
    expect(await writeActions(page)).toMatchObject({ batchActions: 'absent', startWorkflow: 'absent' });
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-ui-3-list.png') });

    await page.goto(`${listPage()}/start-workflow`);
    await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe(`/namespaces/${cluster.namespace}/workflows`);
    await page.close();
  }, 90_000);
});
