import { existsSync, mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
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
  return (await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')))).join('\n');
}
