import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { Admission } from '../../src/api/admission.js';
import { startDispatcher, type Dispatcher } from '../../src/api/dispatcher.js';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createApi, type ApiDeps } from '../../src/api/server.js';
import type { Database } from '../../src/ledger/database.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { Signer } from '../../src/webhooks/signing.js';
import type { OidcSettings } from '../../src/domain/oidc.js';
import type { Role } from '../../src/domain/actor.js';
import { newSigningKey, verifyKeyOf } from '../../src/domain/decision-proof.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { startOutcomeRelay, type Engine } from './engine.js';
import { admin } from './sandbox.js';

/** As long as the configuration requires of OPERATOR_TOKEN (32 characters). */
export const OPERATOR_TOKEN = 'operator-token-for-tests-32-chars';

/** The API alone on `db` (no worker, no dispatcher, `options` on top), for what it answers by itself; not listening yet. */
export function apiOn(db: Database, client: Client, options: Partial<ApiDeps> = {}): FastifyInstance {
  return createApi({
    client,
    db,
    ledger: new RefundLedger(db),
    inbox: new EventInbox(db),
    signer: new Signer(newWebhookSecret()),
    namespace: 'default',
    taskQueue: 'api-alone',
    uiBaseUrl: 'http://localhost:8233',
    ...options,
  });
}

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
  /** A named API key per role, made in the engine's ledger for this API (`approver2`, `admin2`: a second, different person). */
  keys: Record<Role | 'approver2' | 'admin2', string>;
  /** The API's OPERATOR_SIGNING_KEY (the worker checks decisions with its public half). */
  signingKey: string;
  /** POSTs `event` to /v1/events, signed (unless `headers` replaces the signature) */
  send(event: unknown, options?: { headers?: Record<string, string>; raw?: string; signer?: Signer }): Promise<{ status: number; body: Body }>;
  /** A request with `token` as its bearer credential: by default the approver's key; `null` sends none. */
  request(method: string, path: string, options?: { body?: unknown; token?: string | null }): Promise<{ status: number; body: Body }>;
}

/**
 * The API over real HTTP, on the test file's engine (dev server, emulators, PGlite ledger), with a
 * worker running on the engine's task queue for the whole file. `worker` env overrides, e.g. an
 * approval threshold, apply to that worker.
 */
export function useApi(
  engine: () => Engine,
  {
    workerEnv = {},
    operatorToken = OPERATOR_TOKEN,
    dispatcher = true,
    oidc,
    outcomes,
    runningRefundsLimit,
    deploymentName,
  }: {
    /** WORKER_DEPLOYMENT_NAME, as the API process takes it (GET /v1/deployment and its moves); unset: refundflow. */
    deploymentName?: string;
    workerEnv?: Record<string, string>;
    operatorToken?: string;
    dispatcher?: boolean;
    oidc?: OidcSettings;
    /** Where the API's outcome relay sends (a webhook), as OUTCOME_WEBHOOK_URL and its secret would say; unset: no relay. */
    outcomes?: () => { url: string; secret: string };
    /** RUNNING_REFUNDS_LIMIT, as the API process takes it; unset: every accepted event starts at once. */
    runningRefundsLimit?: number;
  } = {},
): () => RunningApi {
  let api: RunningApi | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const e = engine();
    const secret = newWebhookSecret();
    const signer = new Signer(secret);
    const inbox = new EventInbox(e.db);
    const signingKey = newSigningKey();
    const apiKeys = new ApiKeys(e.db);
    const suffix = randomUUID().slice(0, 8);
    const keys = {} as RunningApi['keys'];
    const made = [
      ['viewer', 'viewer'],
      ['operator', 'operator'],
      ['approver', 'approver'],
      ['approver2', 'approver'],
      ['admin', 'admin'],
      ['admin2', 'admin'],
    ] as const;
    for (const [name, role] of made) {
      keys[name] = (await apiKeys.add(`${name}-${suffix}`, role, 'test')).key;
    }
    const relay = outcomes && (await startOutcomeRelay(e.db, outcomes().url, outcomes().secret));
    const admission = runningRefundsLimit === undefined ? undefined : new Admission(e.ledger, { limit: runningRefundsLimit });
    const app = createApi({
      ...(relay && { relay }),
      ...(admission && { admission }),
      client: e.temporal.client,
      db: e.db,
      ledger: e.ledger,
      inbox,
      signer,
      namespace: 'default',
      taskQueue: e.temporal.taskQueue,
      uiBaseUrl: 'http://localhost:8233',
      ...(deploymentName !== undefined && { deploymentName }),
      ...(operatorToken !== undefined && { operatorToken }),
      ...(oidc !== undefined && { oidc }),
      // One deployment's settings: the API takes the workers' DUAL_APPROVAL_THRESHOLD too.
      ...(workerEnv.DUAL_APPROVAL_THRESHOLD !== undefined && { dualApprovalThreshold: Number(workerEnv.DUAL_APPROVAL_THRESHOLD) }),
      signingKey,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const worker: Worker = await e.worker({ OPERATOR_VERIFY_KEYS: verifyKeyOf(signingKey), ...workerEnv });
    const running = worker.run();
    const dispatch: Dispatcher | undefined = dispatcher
      ? startDispatcher(
          { inbox, ledger: e.ledger, client: e.temporal.client, taskQueue: e.temporal.taskQueue, ...(admission && { admission }) },
          { intervalMs: 200 },
        )
      : undefined;
    close = async () => {
      await dispatch?.stop();
      await admission?.stop();
      await relay?.close();
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
      keys,
      signingKey,
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
        const token = options.token === undefined ? keys.approver : options.token;
        if (token !== null) headers.authorization = `Bearer ${token}`;
        if (options.body !== undefined) headers['content-type'] = 'application/json';
        return parse(await fetch(`${url}${path}`, { method, headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }) }));
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
export async function oenRefundEvent(engine: Pick<Engine, 'sandboxes'>, overrides: Record<string, unknown> = {}) {
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
