import { existsSync, mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { payloadCodecFor } from '../../src/codec/data-converter.js';
import { createCodecServer } from '../../src/codec/server.js';
import { codecAllowedOrigin, type Config } from '../../src/config.js';

/**
 * The operator's view in a real browser: Debian's Chromium (installed by scripts/ensure-browser.mjs,
 * npm test's pre-script) driven through playwright-core. Screenshots go to test/artifacts/.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test/artifacts';

/**
 * Whether a browser test file must skip: without Chromium it is skipped, and says so; CI sets
 * REQUIRE_BROWSER=1, which makes that a failure.
 */
export function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  const message = `No Chromium at ${CHROMIUM} (npm test's pre-script, scripts/ensure-browser.mjs, installs Debian's package)`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`${message}; REQUIRE_BROWSER=1 makes that a failure`);
  console.warn(`${message}: the browser test is SKIPPED. Set CHROMIUM_PATH to run it.`);
  return true;
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export function newPage(browser: Browser): Promise<Page> {
  // Tall enough that the codec drawer's buttons sit clear of the UI's sticky top bar.
  return browser.newPage({ viewport: { width: 1400, height: 1600 } });
}

/** The engine's codec server for `config`'s keys and Web UI, on 127.0.0.1:`port`, as `npm run codec-server` runs it. */
export async function listenCodecServer(config: Config, token: string, port: number): Promise<FastifyInstance> {
  const codec = payloadCodecFor(config);
  if (!codec) throw new Error('a codec server needs PAYLOAD_ENCRYPTION_KEYS');
  const server = createCodecServer({ codec, token, allowedOrigin: codecAllowedOrigin(config) });
  await server.listen({ port, host: '127.0.0.1' });
  return server;
}

/** What an operator does first, as docs/operations.md says: the codec server's sign-in page, its token, *Sign in*. */
export async function signInAtCodecServer(page: Page, codecUrl: string, token: string): Promise<void> {
  await page.goto(codecUrl);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  expect(await page.locator('#status').innerText()).toMatch(/Signed in/);
}

/** The text of the page and of its frames (the UI renders Markdown details in frames). */
export async function pageText(page: Page): Promise<string> {
  return (
    await Promise.all(
      page.frames().map((f) =>
        f
          .locator('body')
          .innerText()
          .catch(() => ''),
      ),
    )
  ).join('\n');
}

/** Everything the page's browser context keeps in local storage, where the UI keeps a browser's own codec setting. */
export async function localStorageText(page: Page): Promise<string> {
  const { origins } = await page.context().storageState();
  return JSON.stringify(origins.map((origin) => origin.localStorage));
}

/** How a page offers an action: a visible control that can be used, one shown but disabled, or none. */
export type Offer = 'offered' | 'disabled' | 'absent';

async function offerOf(control: Locator): Promise<Offer> {
  const shown = await control.filter({ visible: true }).all();
  if (shown.length === 0) return 'absent';
  for (const one of shown) if (await one.isEnabled()) return 'offered';
  return 'disabled';
}

/**
 * The controls of the UI's write actions that go around the engine, as the UI (2.42) marks them up:
 * on a run's page, Request Cancellation, and Signal, Update, Terminate and Reset in *More Actions* (a
 * closed run has a Reset button instead) and *Start Workflow Like This One*; on the workflow list,
 * *Start Workflow* (and a row's start button) and the select-all box that opens the batch actions
 * (Terminate, Cancel, Reset).
 */
const writeActionControls = {
  cancel: (page: Page) => page.getByRole('button', { name: 'Request Cancellation', exact: true }),
  signal: (page: Page) => page.getByTestId('signal-button'),
  update: (page: Page) => page.getByTestId('update-button'),
  terminate: (page: Page) => page.getByTestId('terminate-button'),
  reset: (page: Page) => page.getByTestId('reset-button').or(page.getByRole('button', { name: 'Reset', exact: true })),
  startWorkflow: (page: Page) =>
    page
      .getByTestId('start-workflow-button')
      .or(page.getByRole('button', { name: 'Start Workflow', exact: true }))
      .or(page.locator('button.start-button')),
  batchActions: (page: Page) => page.getByTestId('batch-actions-checkbox'),
};
export type WriteAction = keyof typeof writeActionControls;

/** What the current page offers of each write action (on a run's page, with *More Actions* open: `openRunActions`). */
export async function writeActions(page: Page): Promise<Record<WriteAction, Offer>> {
  const offers: Partial<Record<WriteAction, Offer>> = {};
  for (const [action, control] of Object.entries(writeActionControls)) offers[action as WriteAction] = await offerOf(control(page));
  return offers as Record<WriteAction, Offer>;
}

/** How a run's page offers its *More Actions* menu (Signal, Update, Terminate, Reset), once the run has loaded. */
export async function runActionsMenu(page: Page): Promise<Offer> {
  const button = page.getByRole('button', { name: 'More Actions' });
  await button.first().waitFor({ timeout: 30_000 });
  return offerOf(button);
}

/** Opens a run's *More Actions* menu once the run has loaded (the UI renders the header twice, for narrow and wide screens). */
export async function openRunActions(page: Page): Promise<void> {
  const button = page.getByRole('button', { name: 'More Actions' });
  await button.waitFor({ timeout: 30_000 });
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
  await page.locator('ul#workflow-actions[role=menu]').filter({ visible: true }).waitFor({ timeout: 15_000 });
}
