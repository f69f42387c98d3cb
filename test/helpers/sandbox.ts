import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
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
