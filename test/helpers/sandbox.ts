import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { MwdRefundRequested, OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import type { SandboxRefund } from '../../src/sandbox/server.js';

/** Both emulators on free ports for this test file, reset to the documents' seed before each test. */
export function useSandboxes(): () => RunningSandboxes {
  let sandboxes: RunningSandboxes | undefined;
  beforeAll(async () => {
    sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
  });
  beforeEach(() => {
    sandboxes?.oen.core.reset();
    sandboxes?.mwd.core.reset();
  });
  afterAll(async () => {
    await sandboxes?.close();
  });
  return () => {
    if (!sandboxes) throw new Error('the sandboxes run only inside tests');
    return sandboxes;
  };
}

/** The admin endpoint over real HTTP, as a test or an operator uses it. */
export async function admin<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/__admin/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export async function sandboxRefunds(baseUrl: string): Promise<SandboxRefund[]> {
  return (await admin<{ refunds: SandboxRefund[] }>(baseUrl, 'GET', 'refunds')).refunds;
}

/** Refund requests an emulator has received so far, faulted ones included. */
export async function refundRequestCount(baseUrl: string): Promise<number> {
  return (await admin<{ requests: { refund: number } }>(baseUrl, 'GET', 'requests')).requests.refund;
}

/** A fresh NT$1,000 card transaction at the Oen emulator (`seed` adds to it), and the refund request for it. */
export async function seededOenRefund(
  oenUrl: string,
  overrides: Partial<OenRefundRequested> = {},
  seed: Record<string, unknown> = {},
): Promise<OenRefundRequested> {
  const transactionHid = randomHid();
  const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
  await admin(oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 1000, ...seed }] });
  return { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid, amount: 1000, ...overrides };
}

/** A fresh NT$550 order at the MWD emulator (`seed` adds to it), and the refund request for it (with its card token, unless overridden). */
export async function seededMwdRefund(
  mwdUrl: string,
  overrides: Partial<MwdRefundRequested> = {},
  seed: Record<string, unknown> = {},
): Promise<MwdRefundRequested> {
  // Unique however many are seeded at once (a millisecond clock and a small random number were not).
  const orderId = overrides.orderId ?? `2026${BigInt(`0x${randomUUID().replaceAll('-', '').slice(0, 15)}`)}`;
  const cardToken = `tok-${randomUUID()}`;
  await admin(mwdUrl, 'POST', 'seed', { orders: [{ orderId, cardToken, amount: 550, ...seed }] });
  return { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 550, cardToken, ...overrides };
}
