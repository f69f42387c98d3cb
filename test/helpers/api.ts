import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { startDispatcher, type Dispatcher } from '../../src/api/dispatcher.js';
import { createApi } from '../../src/api/server.js';
import { Signer } from '../../src/webhooks/signing.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { randomHid } from '../../src/sandbox/oen.js';
import type { Engine } from './engine.js';
import { admin } from './sandbox.js';

export const OPERATOR_TOKEN = 'operator-token-for-tests';

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** An answer's body: the problem fields every error has, the rest asserted by the tests. */
export interface Body {
  error?: string;
  problems?: Array<{ field: string; problem: string }>;
  [key: string]: unknown;
}

export interface RunningApi {
  url: string;
  secret: string;
  signer: Signer;
  inbox: EventInbox;
  /** POSTs `event` to /v1/events, signed (unless `headers` replaces the signature) */
  send(event: unknown, options?: { headers?: Record<string, string>; raw?: string; signer?: Signer }): Promise<{ status: number; body: Body }>;
  request(method: string, path: string, options?: { body?: unknown; token?: string }): Promise<{ status: number; body: Body }>;
}

/**
 * The API over real HTTP, on the test file's engine (dev server, emulators, PGlite ledger), with a
 * worker running on the engine's task queue for the whole file. `worker` env overrides, e.g. an
 * approval threshold, apply to that worker.
 */
export function useApi(
  engine: () => Engine,
  { workerEnv = {}, operatorToken = OPERATOR_TOKEN, dispatcher = true }: { workerEnv?: Record<string, string>; operatorToken?: string; dispatcher?: boolean } = {},
): () => RunningApi {
  let api: RunningApi | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const e = engine();
    const secret = newWebhookSecret();
    const signer = new Signer(secret);
    const inbox = new EventInbox(e.db);
    const app = createApi({
      client: e.temporal.client,
      db: e.db,
      ledger: e.ledger,
      inbox,
      signer,
      namespace: 'default',
      taskQueue: e.temporal.taskQueue,
      uiBaseUrl: 'http://localhost:8233',
      ...(operatorToken !== undefined && { operatorToken }),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const worker: Worker = await e.worker(workerEnv);
    const running = worker.run();
    const dispatch: Dispatcher | undefined = dispatcher
      ? startDispatcher({ inbox, ledger: e.ledger, client: e.temporal.client, taskQueue: e.temporal.taskQueue }, { intervalMs: 200 })
      : undefined;
    close = async () => {
      await dispatch?.stop();
      await app.close();
      worker.shutdown();
      await running;
    };
    const parse = async (response: Response) => {
      const text = await response.text();
      try {
        return { status: response.status, body: JSON.parse(text) as Body };
      } catch {
        return { status: response.status, body: { text } as Body };
      }
    };
    api = {
      url,
      secret,
      signer,
      inbox,
      async send(event, options = {}) {
        const body = options.raw ?? JSON.stringify(event);
        const id = (event as { id?: string } | undefined)?.id ?? randomUUID();
        const headers = options.headers ?? (options.signer ?? signer).sign(id, body);
        return parse(await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }));
      },
      async request(method, path, options = {}) {
        const headers: Record<string, string> = {};
        if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
        if (options.body !== undefined) headers['content-type'] = 'application/json';
        return parse(
          await fetch(`${url}${path}`, { method, headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }) }),
        );
      },
    };
  });
  afterAll(async () => {
    await close?.();
  });
  return () => {
    if (!api) throw new Error('the API runs only inside tests');
    return api;
  };
}

/** A `refund.requested` CloudEvent for a fresh card transaction seeded in the Oen emulator (of `orderId` and `amount` if given). */
export async function oenRefundEvent(engine: Engine, overrides: Record<string, unknown> = {}) {
  const transactionHid = randomHid();
  const orderId = typeof overrides.orderId === 'string' ? overrides.orderId : `ORDER-${randomUUID().slice(0, 8)}`;
  const amount = typeof overrides.amount === 'number' ? overrides.amount : 1000;
  await admin(engine.sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount }] });
  return {
    specversion: '1.0',
    id: `evt_${randomUUID()}`,
    source: 'order-management',
    type: 'refund.requested',
    time: new Date().toISOString(),
    data: { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid, amount: 1000, reason: '客戶取消訂單', ...overrides },
  };
}
