import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDevServer, type RunningDevServer } from '../../scripts/dev-server.js';
import { loadConfig } from '../../src/config.js';
import type { RefundStatus } from '../../src/domain/refund-status.js';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import { refundStatusQuery, webUiViews, workflowListUiUrl, type WebUiView } from '../../src/domain/ui.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { createWorker } from '../../src/wiring/worker.js';
import { ARTIFACTS, chromiumMissing, launchChromium } from '../helpers/browser.js';
import { sandboxClients } from '../helpers/engine.js';
import { startAccepted } from '../helpers/inbox.js';
import { freePorts } from '../helpers/ports.js';
import { admin, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';
import { cancelWaitingRefund } from '../helpers/temporal.js';

/**
 * The refunds view of docs/operations.md ("The refunds view in the Web UI"), in Chromium on the dev
 * server's own Web UI (2.42, the UI server's version too): with refunds in four statuses, an operator
 * adds the refund columns through *Configure Columns*, and reads each refund's status, amount,
 * provider and order in the list; the list links the alerts and the CLI print show only their
 * refunds, and a link that saves its view makes the saved view the doc asks for.
 */
const NAMESPACE = 'default';
/** The columns the doc says to add, in its order, and the one it says to remove. */
const ADD = ['RefundStatus', 'RefundAmount', 'RefundProvider', 'OrderId'];
const REMOVE = 'Run ID';

let dataDir: string;
let server: RunningDevServer;
let sandboxes: RunningSandboxes;
let db: Database;
let ledger: RefundLedger;
let connection: NativeConnection;
let clientConnection: Connection;
let worker: Worker;
let running: Promise<void>;
let workerFailure: Error | undefined;
let browser: Browser;
let client: Client;
let taskQueue: string;
let waitingId: string | undefined;
const skip = chromiumMissing();

/** Each refund of the file, by the status it is left in, with its run's workflow id. */
const refunds = new Map<RefundStatus, { request: RefundRequested; workflowId: string }>();

async function leaveIn(status: RefundStatus, request: RefundRequested): Promise<void> {
  const started = await startAccepted(client, taskQueue, db, request);
  if (started.kind !== 'started') throw new Error(JSON.stringify(started));
  refunds.set(status, { request, workflowId: started.workflowId });
  await until(`refund ${request.refundId} ${status} in the ledger`, async () => (await ledger.get(request.refundId))?.status === status);
  // And in the list's visibility store, where the run's upsert lands after the ledger's move.
  const query = `WorkflowId="${started.workflowId}" AND ${refundStatusQuery(status)}`;
  await until(`its run listed as ${status}`, async () => (await client.workflow.count(query)).count === 1);
}

/** Waits for `check` in the set-up, where expect.poll is not to be had. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 60 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const view = (name: string): WebUiView => {
  const found = webUiViews.find((v) => v.name === name);
  if (!found) throw new Error(`no saved view ${name}`);
  return found;
};
const refund = (status: RefundStatus) => {
  const found = refunds.get(status);
  if (!found) throw new Error(`no refund left in ${status}`);
  return found;
};
const listPage = () => `${server.uiUrl}/namespaces/${NAMESPACE}/workflows`;

beforeAll(async () => {
  if (skip) return;
  dataDir = mkdtempSync(join(tmpdir(), 'refundflow-ui-view-'));
  const [port, uiPort] = (await freePorts(2)) as [number, number];
  taskQueue = `ui-view-${randomUUID()}`;
  // Refunds of NT$5,000 and more wait for an approver.
  const config = loadConfig({
    TEMPORAL_ADDRESS: `localhost:${port}`,
    REFUNDS_TASK_QUEUE: taskQueue,
    APPROVAL_THRESHOLD: '5000',
    TEMPORAL_UI_PORT: String(uiPort),
  });
  // A dev server of this file's own: its list holds this file's runs and no others.
  server = await startDevServer({ cliPath: inject('temporalCliPath'), dataDir, port, uiPort, namespace: NAMESPACE }, () => undefined);
  sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
  db = await pgliteDatabase();
  await migrate(db);
  ledger = new RefundLedger(db);
  connection = await NativeConnection.connect({ address: server.address });
  worker = await createWorker({ config, connection, deps: { ledger, providers: sandboxClients(sandboxes) } });
  running = worker.run().catch((err: unknown) => {
    workerFailure = err instanceof Error ? err : new Error(JSON.stringify(err));
  });
  clientConnection = await Connection.connect({ address: server.address });
  client = new Client({ connection: clientConnection, namespace: NAMESPACE });

  await leaveIn('succeeded', await seededOenRefund(sandboxes.oenUrl, { amount: 1000 }));
  // The emulator's testing rule: Oen refuses an amount under NT$100 before acting (T0001).
  await leaveIn('failed', await seededOenRefund(sandboxes.oenUrl, { amount: 50 }));
  await leaveIn('awaiting_approval', await seededOenRefund(sandboxes.oenUrl, { amount: 6000 }, { amount: 6000 }));
  waitingId = refund('awaiting_approval').workflowId;
  // MWD refunds, then its answer is lost: MWD cannot be asked, so a person must decide.
  await admin(sandboxes.mwdUrl, 'PUT', 'faults', { refund: { next: ['commitThenDrop'] } });
  await leaveIn('requires_attention', await seededMwdRefund(sandboxes.mwdUrl));

  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (waitingId) await cancelWaitingRefund(client, waitingId);
  worker?.shutdown();
  await running;
  if (workerFailure) throw workerFailure;
  await clientConnection?.close();
  await connection?.close();
  await sandboxes?.close();
  await db?.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/** What the UI keeps in this browser's local storage under `key`, by namespace. */
async function stored(page: Page, key: string): Promise<Record<string, unknown>> {
  const { origins } = await page.context().storageState();
  const value = origins.flatMap((origin) => origin.localStorage).find((item) => item.name === key)?.value;
  return JSON.parse(value ?? '{}') as Record<string, unknown>;
}

/** The list as the page shows it: one record per row, by column header. */
async function listedRows(page: Page): Promise<Array<Record<string, string>>> {
  const labels: string[] = [];
  for (const header of await page.locator('[data-testid^="workflows-summary-table-header-cell-"]').all()) {
    labels.push(((await header.getAttribute('data-testid')) ?? '').replace('workflows-summary-table-header-cell-', ''));
  }
  const listed: Array<Record<string, string>> = [];
  for (const row of await page.locator('tr[data-testid="workflows-summary-configurable-table-row"]').all()) {
    const cells = (await row.locator('td[data-testid="workflows-summary-table-body-cell"]').allInnerTexts()).map((text) => text.trim());
    listed.push(Object.fromEntries(labels.map((label, i): [string, string] => [label, cells[i] ?? ''])));
  }
  return listed;
}

/** The rows once the list shows `count` of them, each with its status (visibility follows the runs' last upsert). */
async function rowsWhenListed(page: Page, count: number): Promise<Array<Record<string, string>>> {
  await expect.poll(async () => (await listedRows(page)).filter((row) => row.RefundStatus).length, { timeout: 30_000 }).toBe(count);
  return listedRows(page);
}

/** Workflow id → what the list shows in the refund columns. */
const byWorkflowId = (rows: Array<Record<string, string>>): Record<string, Record<string, string | undefined>> =>
  Object.fromEntries(
    rows.map((row) => [row['Workflow ID'] ?? '', Object.fromEntries(ADD.map((column): [string, string | undefined] => [column, row[column]]))]),
  );

const expectedRow = (status: RefundStatus) => {
  const { request, workflowId } = refund(status);
  return [workflowId, { RefundStatus: status, RefundAmount: String(request.amount), RefundProvider: request.provider, OrderId: request.orderId }] as const;
};

describe.skipIf(skip)('the refunds view in the Web UI, in Chromium', () => {
  let page: Page;

  it("Configure Columns: the refund columns added (and Run ID removed) show each refund's status, amount, provider and order", async () => {
    // Wide enough for the list's nine columns.
    page = await browser.newPage({ viewport: { width: 2400, height: 900 } });
    await page.goto(listPage());
    await page.getByRole('link', { name: refund('succeeded').workflowId }).waitFor({ timeout: 30_000 });
    // The UI's default columns: none of ours.
    expect(await page.getByTestId('workflows-summary-table-header-cell-RefundStatus').count()).toBe(0);

    await page.getByTestId('workflows-summary-table-configuration-button').click();
    const drawer = page.locator('#workflows-table-configuration-drawer');
    for (const label of ADD) await drawer.getByTestId(`orderable-list-item-${label}-add-button`).click();
    await drawer.getByTestId(`orderable-list-item-${REMOVE}-remove-button`).click();
    await page.screenshot({ path: join(ARTIFACTS, 'ui-view-1-configure-columns.png') });
    await page.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
    await drawer.waitFor({ state: 'hidden' });

    const rows = await rowsWhenListed(page, 4);
    const headers = Object.keys(rows[0] ?? {});
    expect(headers).toEqual(['Status', 'Workflow ID', 'Type', 'Start', 'End', ...ADD]);
    expect(byWorkflowId(rows)).toEqual(Object.fromEntries((['succeeded', 'failed', 'awaiting_approval', 'requires_attention'] as const).map(expectedRow)));
    await page.screenshot({ path: join(ARTIFACTS, 'ui-view-2-refund-columns.png') });

    // Kept by this browser, per namespace, under the key the doc names; a reload keeps them.
    expect((await stored(page, 'namespace-workflow-table-columns'))[NAMESPACE]).toEqual(
      ['Status', 'Workflow ID', 'Type', 'Start', 'End', ...ADD].map((label) => ({ label })),
    );
    await page.reload();
    expect(Object.keys((await rowsWhenListed(page, 4))[0] ?? {})).toEqual(['Status', 'Workflow ID', 'Type', 'Start', 'End', ...ADD]);
  });

  it("the list links of the alerts and the CLI show only their refunds: 'Needs a person', 'Awaiting approval'", async () => {
    for (const [name, status] of [
      ['Needs a person', 'requires_attention'],
      ['Awaiting approval', 'awaiting_approval'],
    ] as const) {
      await page.goto(workflowListUiUrl(server.uiUrl, NAMESPACE, view(name).query));
      const rows = await rowsWhenListed(page, 1);
      expect(byWorkflowId(rows), name).toEqual(Object.fromEntries([expectedRow(status)]));
      await page.screenshot({ path: join(ARTIFACTS, `ui-view-3-${status}.png`) });
    }
  });

  it('a link that saves its view makes the saved view, which filters the list when chosen', async () => {
    const needsAPerson = view('Needs a person');
    await page.goto(workflowListUiUrl(server.uiUrl, NAMESPACE, needsAPerson.query, needsAPerson.name));
    // The UI saved it and took the name off the address.
    await expect.poll(() => new URL(page.url()).searchParams.has('savedQuery'), { timeout: 15_000 }).toBe(false);
    expect((await stored(page, 'saved-workflow-queries'))[NAMESPACE]).toEqual([
      expect.objectContaining({ name: needsAPerson.name, query: needsAPerson.query, type: 'user' }),
    ]);

    await page.goto(listPage());
    expect((await rowsWhenListed(page, 4)).length).toBe(4);
    await page.getByTestId('needs-a-person').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('query'), { timeout: 15_000 }).toBe(needsAPerson.query);
    expect(byWorkflowId(await rowsWhenListed(page, 1))).toEqual(Object.fromEntries([expectedRow('requires_attention')]));
    await page.screenshot({ path: join(ARTIFACTS, 'ui-view-4-saved-view.png') });
    await page.close();
  });
});
