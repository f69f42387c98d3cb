import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDevServer, type RunningDevServer } from '../../scripts/dev-server.js';
import { clientDataConverter } from '../../src/codec/data-converter.js';
import { loadConfig } from '../../src/config.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
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
  pageText,
  signInAtCodecServer,
  runActionsMenu,
  writeActions,
} from '../helpers/browser.js';
import { sandboxClients } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { seededOenRefund } from '../helpers/sandbox.js';
import { startAccepted } from '../helpers/inbox.js';

/**
 * The operator's view, in a real browser (test/helpers/browser.ts): Chromium drives the dev server's
 * own Web UI, pointed at our codec server as `npm start` points it. The UI server's, as compose runs
 * it: test/browser/cluster-ui.test.ts.
 */
const KEYS = `ui-test:${randomBytes(32).toString('base64')}`;
const CODEC_TOKEN = randomBytes(24).toString('base64url');

let dataDir: string;
let server: RunningDevServer;
let sandboxes: RunningSandboxes;
let db: Database;
let codecServer: FastifyInstance;
let codecUrl: string;
let connection: NativeConnection;
let clientConnection: Connection;
let worker: Worker;
let running: Promise<void>;
let browser: Browser;
let client: Client;
let taskQueue: string;
let refund: OenRefundRequested;
let workflowId: string;
let workerFailure: Error | undefined;
const skip = chromiumMissing();

/** A charged card transaction at the Oen emulator, and the refund request for it. */
function oenRefund(amount: number, reason: string): Promise<OenRefundRequested> {
  return seededOenRefund(sandboxes.oenUrl, { amount, reason }, { amount });
}

async function start(request: OenRefundRequested): Promise<string> {
  const started = await startAccepted(client, taskQueue, db, request);
  if (started.kind !== 'started') throw new Error(JSON.stringify(started));
  return started.workflowId;
}

beforeAll(async () => {
  if (skip) return;
  dataDir = mkdtempSync(join(tmpdir(), 'refundflow-ui-'));
  const [port, uiPort, codecPort] = (await freePorts(3)) as [number, number, number];
  const config = loadConfig({
    TEMPORAL_ADDRESS: `localhost:${port}`,
    REFUNDS_TASK_QUEUE: `ui-${randomUUID()}`,
    PAYLOAD_ENCRYPTION_KEYS: KEYS,
    // Refunds of NT$5,000 and more wait for an operator: the approve test sends it from the UI.
    APPROVAL_THRESHOLD: '5000',
    // The embedded dev mode: decisions from the Web UI are taken, recorded as unverified.
    ALLOW_UNSIGNED_DECISIONS: 'true',
    TEMPORAL_UI_PORT: String(uiPort),
    CODEC_SERVER_PORT: String(codecPort),
  });
  codecUrl = `http://localhost:${codecPort}`;
  server = await startDevServer({ cliPath: inject('temporalCliPath'), dataDir, port, uiPort, namespace: 'default', codecEndpoint: codecUrl }, () => undefined);
  codecServer = await listenCodecServer(config, CODEC_TOKEN, codecPort);

  sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
  db = await pgliteDatabase();
  await migrate(db);
  connection = await NativeConnection.connect({ address: server.address });
  // The production path: the worker bundles the workflows itself, with the encoding failure converter.
  worker = await createWorker({ config, connection, deps: { ledger: new RefundLedger(db), providers: sandboxClients(sandboxes) } });
  running = worker.run().catch((err: unknown) => {
    workerFailure = err instanceof Error ? err : new Error(JSON.stringify(err));
  });
  clientConnection = await Connection.connect({ address: server.address });
  client = new Client({ connection: clientConnection, dataConverter: clientDataConverter(config) });
  taskQueue = config.REFUNDS_TASK_QUEUE;

  refund = await oenRefund(1000, 'browser test');
  workflowId = await start(refund);
  const record = await client.workflow.getHandle<() => Promise<RefundRecord>>(workflowId).result();
  expect(record.status).toBe('succeeded');

  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  worker?.shutdown();
  await running;
  if (workerFailure) throw workerFailure;
  await clientConnection?.close();
  await connection?.close();
  await codecServer?.close();
  await sandboxes?.close();
  await db?.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const refundPage = (id = workflowId) => `${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}`;

/**
 * What docs/operations.md asks of an operator once per browser on the dev server's UI: sign in at
 * the codec server, then set the UI's codec endpoint as this browser's own, with credentials, so the
 * cookie goes along.
 */
async function signInToCodec(page: Page): Promise<void> {
  await signInAtCodecServer(page, codecUrl, CODEC_TOKEN);
  await page.goto(`${server.uiUrl}/namespaces/default/workflows`);
  await page.locator('[data-testid^="data-encoder-status"]').click();
  await page.getByRole('button', { name: 'Use Cluster-level setting,' }).click();
  await page.getByLabel('Use my browser setting and ignore Cluster-level setting.').check({ force: true });
  await page.locator('textarea').first().fill(codecUrl);
  await page.getByTestId('data-encoder-include-credentials').dispatchEvent('click');
  await page.getByRole('button', { name: 'Apply' }).dispatchEvent('click');
  // The browser keeps it (test/browser/cluster-ui.test.ts finds none kept with the UI server's setting).
  await expect.poll(() => localStorageText(page)).toContain(codecUrl.replace('http://', ''));
}

describe.skipIf(skip)('the Temporal Web UI, in Chromium', () => {
  it("without the codec, the refund's payloads show only as ciphertext", async () => {
    const page = await newPage(browser);
    await page.goto(refundPage());
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain('encryption-key-id');
    const text = await page.locator('body').innerText();
    expect(text).not.toContain(refund.refundId.slice(3));
    expect(text).not.toContain('"amount": 1000');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-1-refund-encrypted.png'), fullPage: true });
    await page.close();
  });

  it('an operator signs in to the codec server, filters by RefundStatus, opens the refund and reads it decoded', async () => {
    const page = await newPage(browser);
    // 1–2. Sign in at the codec server; the UI's codec setting for this browser.
    await signInToCodec(page);

    // 3. Filter the list by the refund's status, as docs/operations.md tells an operator to.
    await page.getByTestId('toggle-manual-query').click();
    await page.getByTestId('manual-search-input').fill('RefundStatus="succeeded"');
    await page.getByTestId('manual-search-input').press('Enter');
    await expect.poll(() => decodeURIComponent(page.url()), { timeout: 15_000 }).toContain('RefundStatus="succeeded"');
    const row = page.getByRole('link', { name: workflowId });
    await row.waitFor({ timeout: 30_000 });
    // The dev server's UI offers the write actions the UI server turns off; the same controls are
    // looked for there (test/browser/cluster-ui.test.ts), so finding none there means something.
    expect(await writeActions(page)).toMatchObject({ batchActions: 'offered', startWorkflow: 'offered' });
    await page.screenshot({ path: join(ARTIFACTS, 'ui-2-list-filtered.png') });

    // 4. Open it: input and result decoded through the codec server.
    await row.click();
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain('"status": "succeeded"');
    const text = await page.locator('body').innerText();
    expect(text).toContain(`"refundId": "${refund.refundId}"`);
    expect(text).toContain('"amount": 1000');
    expect(text).toContain(`"transactionHid": "${refund.transactionHid}"`);
    expect(text).not.toContain('encryption-key-id');
    // Each step of the timeline says what it did (the summaries are encrypted too, and decoded here).
    expect(text).toContain(`Oen refund ${refund.transactionHid} NT$1,000`);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-3-refund-decoded.png'), fullPage: true });
    // A closed run's Reset button, once its history has loaded.
    await expect.poll(async () => (await writeActions(page)).reset, { timeout: 15_000 }).toBe('offered');

    // 5. The run's summary and details, its current details (status in words; R refreshes them)…
    await page.getByText('User Metadata', { exact: true }).first().click();
    await page.keyboard.press('r');
    await expect.poll(() => pageText(page), { timeout: 15_000 }).toMatch(/— succeeded/);
    const metadata = await pageText(page);
    expect(metadata).toContain(`Refund NT$1,000 · ${refund.orderId} · oen`);
    expect(metadata).toContain(`Refund ${refund.refundId}`);
    expect(metadata).toContain(`Oen Tech, card transaction ${refund.transactionHid}`);
    expect(metadata).toContain('Reason: browser test');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-4-refund-summary.png'), fullPage: true });
    // …and its status as a search attribute, which filters the list.
    await page.getByText('Search Attributes', { exact: true }).first().click();
    await expect.poll(() => page.locator('body').innerText(), { timeout: 15_000 }).toMatch(/RefundStatus[\s\S]{0,40}succeeded/);
    await page.close();
  }, 150_000);

  it('an operator approves a waiting refund from the UI (Send an Update), and it goes on to succeed', async () => {
    const waiting = await oenRefund(6000, 'large refund, approved in the browser');
    const id = await start(waiting);
    const handle = client.workflow.getHandle<() => Promise<RefundRecord>>(id);
    await expect.poll(async () => (await handle.query(statusQuery)).status, { timeout: 30_000 }).toBe('awaiting_approval');

    const page = await newPage(browser);
    await signInToCodec(page);
    await page.goto(refundPage(id));
    expect(await runActionsMenu(page)).toBe('offered');
    await openRunActions(page);
    // A running run's Cancel, Signal, Update, Terminate and Reset, as the dev server's UI offers them (Reset once its history has loaded).
    await expect
      .poll(() => writeActions(page), { timeout: 15_000 })
      .toMatchObject({ cancel: 'offered', signal: 'offered', update: 'offered', terminate: 'offered', reset: 'offered', startWorkflow: 'offered' });
    await page.getByTestId('update-button').locator('visible=true').first().click();
    const dialog = page.locator('dialog[open], [role=dialog]').filter({ has: page.getByTestId('update-select') });
    await dialog.getByTestId('update-select-button').locator('visible=true').click();
    // The run's updates are listed with their descriptions.
    await page.getByRole('option', { name: /^approve\s+Approve a refund that awaits approval/ }).click();
    await dialog.locator('div[role=textbox]').first().click();
    await page.keyboard.type('{"reason": "checked in the browser"}');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-5-approve-update.png') });
    // A plain click lands on the UI's sticky bar at this size; the button is the target either way.
    await dialog.getByTestId('confirm-modal-button').dispatchEvent('click');

    const record = await handle.result();
    expect(record).toMatchObject({ refundId: waiting.refundId, status: 'succeeded', amount: 6000 });
    // The approval is in the history as an accepted update carrying the operator's input, which
    // decodes with the key.
    const { events } = await handle.fetchHistory();
    const accepted = events?.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    const args = accepted?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args;
    expect(accepted?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name).toBe('approve');
    // The UI encoded the operator's input through the codec server: it is stored encrypted too.
    expect(new TextDecoder().decode(args?.payloads?.[0]?.metadata?.encoding ?? new Uint8Array())).toBe('binary/encrypted');
    expect(
      await client.options.loadedDataConverter.payloadConverter.fromPayload(
        (await client.options.loadedDataConverter.payloadCodecs[0]!.decode(args?.payloads ?? []))[0]!,
      ),
    ).toEqual({ reason: 'checked in the browser' });
    await page.close();
  }, 180_000);
});
