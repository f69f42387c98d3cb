import { randomBytes } from 'node:crypto';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientDataConverter, failureConverterPath, payloadCodecFor } from '../../src/codec/data-converter.js';
import { SESSION_COOKIE, createCodecServer } from '../../src/codec/server.js';
import { loadConfig } from '../../src/config.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { createWorker, workflowsPath } from '../../src/wiring/worker.js';
import { useEngine } from '../helpers/engine.js';
import { seededOenRefund } from '../helpers/sandbox.js';
import { startAccepted } from '../helpers/inbox.js';

const engine = useEngine('encryption');
const KEYS = `current:${randomBytes(32).toString('base64')}`;
const REASON = '客戶取消訂單 — plaintext probe';
const UI_ORIGIN = 'http://localhost:8233';
const TOKEN = randomBytes(24).toString('base64url');

type History = proto.temporal.api.history.v1.IHistory;
type JsonPayloads = { payloads: Array<{ metadata: Record<string, string>; data: string }> };

let encrypting: Client;
let workflowBundle: { code: string };
let codecServer: FastifyInstance;
let codecUrl: string;

beforeAll(async () => {
  encrypting = new Client({
    connection: engine().temporal.client.connection,
    dataConverter: clientDataConverter({ PAYLOAD_ENCRYPTION_KEYS: KEYS }),
  });
  // The suite's shared bundle has the default failure converter; this one encodes failures.
  workflowBundle = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: silent });
  codecServer = createCodecServer({ codec: payloadCodecFor({ PAYLOAD_ENCRYPTION_KEYS: KEYS })!, token: TOKEN, allowedOrigin: UI_ORIGIN });
  codecUrl = await codecServer.listen({ port: 0, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  await codecServer?.close();
});

function worker(): Promise<Worker> {
  const { temporal, ledger, providers } = engine();
  return createWorker({
    config: loadConfig({ TEMPORAL_ADDRESS: temporal.address, REFUNDS_TASK_QUEUE: temporal.taskQueue, PAYLOAD_ENCRYPTION_KEYS: KEYS }),
    connection: temporal.connection,
    workflowBundle,
    deps: { ledger, providers },
  });
}

const oenRefund = (amount = 1000) => seededOenRefund(engine().sandboxes.oenUrl, { amount, reason: REASON });

/** Runs the refund through the encrypting client; its result (or its failure) and its raw history. */
async function run(request: OenRefundRequested): Promise<{ outcome: RefundRecord | WorkflowFailedError; history: History }> {
  return (await worker()).runUntil(async () => {
    const started = await startAccepted(encrypting, engine().temporal.taskQueue, engine().db, request);
    if (started.kind !== 'started') throw new Error(`not started: ${JSON.stringify(started)}`);
    const handle = encrypting.workflow.getHandle<() => Promise<RefundRecord>>(started.workflowId);
    const outcome = await handle.result().catch((err: unknown) => {
      if (err instanceof WorkflowFailedError) return err;
      throw err;
    });
    // Read with a client that has no codec: what the server stores.
    const { history } = await engine().temporal.client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: started.workflowId },
    });
    return { outcome, history: history! };
  });
}

interface Found {
  payloads: Array<{ path: string; encoding: string; keyId?: string }>;
  failureMessages: Array<{ path: string; message: string }>;
}

/**
 * The SDK's own marker bookkeeping, never ours: a local activity's sequence number, attempt and
 * times (its result is encrypted), and a patch's id. The codec is not asked to encode these.
 */
const sdkMarkerFields = /markerRecordedEventAttributes\.details\.(data|patch-data)\.payloads\.\d+$/;

/** Every payload and failure message in a raw history, except search attributes (indexed, so plain). */
function scan(node: unknown, path = 'history', found: Found = { payloads: [], failureMessages: [] }): Found {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return found;
  const record = node as Record<string, unknown>;
  const metadata = record.metadata as Record<string, Uint8Array> | undefined;
  if (metadata && typeof metadata === 'object' && metadata.encoding instanceof Uint8Array) {
    const text = (bytes?: Uint8Array) => (bytes ? new TextDecoder().decode(bytes) : undefined);
    if (sdkMarkerFields.test(path)) return found;
    found.payloads.push({ path, encoding: text(metadata.encoding)!, ...(metadata['encryption-key-id'] && { keyId: text(metadata['encryption-key-id']) }) });
    return found;
  }
  if (typeof record.message === 'string' && /(failure|cause)$/i.test(path)) found.failureMessages.push({ path, message: record.message });
  for (const [key, value] of Object.entries(record)) {
    if (key === 'searchAttributes') continue;
    scan(value, `${path}.${key}`, found);
  }
  return found;
}

const rawJson = (history: History) => JSON.stringify(proto.temporal.api.history.v1.History.toObject(history as proto.temporal.api.history.v1.History));

describe('payload encryption on a real dev server', () => {
  it('a refund runs to succeeded through encrypting client and worker; the stored history holds only encrypted payloads', async () => {
    const request = await oenRefund();
    const { outcome, history } = await run(request);
    expect(outcome).toMatchObject({ refundId: request.refundId, status: 'succeeded', amount: 1000 });

    const { payloads } = scan(history);
    // Input, activity inputs and results, user metadata (summaries), memo, the result: dozens.
    expect(payloads.length).toBeGreaterThan(10);
    expect(payloads.filter((p) => p.encoding !== 'binary/encrypted')).toEqual([]);
    expect(new Set(payloads.map((p) => p.keyId))).toEqual(new Set(['current']));
    const json = rawJson(history);
    expect(json).not.toContain('客戶取消訂單');
    expect(json).not.toContain(request.refundId);
  });

  it('a refused refund: failure messages are encrypted too, and decode for a client with the key', async () => {
    const request = await oenRefund(1001); // more than was charged: Oen answers V0001
    const { outcome, history } = await run(request);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const cause = (outcome as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause?.message).toMatch(new RegExp(`Refund ${request.refundId} failed`));

    const { payloads, failureMessages } = scan(history);
    expect(payloads.filter((p) => p.encoding !== 'binary/encrypted')).toEqual([]);
    expect(failureMessages.length).toBeGreaterThan(0);
    expect(failureMessages.filter((f) => f.message !== 'Encoded failure')).toEqual([]);
    expect(rawJson(history)).not.toContain(request.refundId);
  });

  describe('the codec server', () => {
    let encrypted: JsonPayloads;
    let refundId: string;

    beforeAll(async () => {
      const request = await oenRefund();
      refundId = request.refundId;
      const { history } = await run(request);
      const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const b64 = (bytes?: Uint8Array | null) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
      encrypted = {
        payloads: input.map((p) => ({
          metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
          data: b64(p.data),
        })),
      };
    });

    const decode = (headers: Record<string, string>, body: unknown = encrypted) =>
      fetch(`${codecUrl}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

    it('decodes a run input for the bearer of the token, from the UI origin', async () => {
      const response = await decode({ Authorization: `Bearer ${TOKEN}`, Origin: UI_ORIGIN, 'X-Namespace': 'default' });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
      const { payloads } = (await response.json()) as JsonPayloads;
      expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toMatchObject({ refundId, amount: 1000, reason: REASON });
    });

    it('answers 401 without the token or with a wrong one, and 403 to another origin', async () => {
      expect((await decode({})).status).toBe(401);
      // Checked before the body is read, and by route: a query string or a broken body changes nothing.
      const unread = await fetch(`${codecUrl}/decode?via=query`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' });
      expect(unread.status).toBe(401);
      expect(
        (await fetch(`${codecUrl}/decode?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(encrypted) })).status,
      ).toBe(401);
      expect((await decode({ Authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
      expect((await decode({ Authorization: TOKEN })).status).toBe(401);
      const other = await decode({ Authorization: `Bearer ${TOKEN}`, Origin: 'http://evil.example' });
      expect(other.status).toBe(403);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });

    it("answers the UI origin's preflight, and no other origin's", async () => {
      const preflight = (origin: string) =>
        fetch(`${codecUrl}/decode`, {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
        });
      const ok = await preflight(UI_ORIGIN);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/i);
      const refused = await preflight('http://localhost:9999');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('the sign-in page sets a session cookie (not the token) that decodes; a wrong token sets none', async () => {
      const signIn = (token: string) =>
        fetch(`${codecUrl}/session`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }).toString(),
          redirect: 'manual',
        });
      const wrong = await signIn('not-the-token');
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();

      const right = await signIn(TOKEN);
      expect(right.status).toBe(303);
      const setCookie = right.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+; HttpOnly; SameSite=Strict`));
      expect(setCookie).not.toContain(TOKEN);
      const session = setCookie.split(';')[0]!;
      const decoded = await decode({ Cookie: session, Origin: UI_ORIGIN });
      expect(decoded.status).toBe(200);
      expect((await decode({ Cookie: `${SESSION_COOKIE}=forged`, Origin: UI_ORIGIN })).status).toBe(401);
      const [expiresAt, mac] = session.slice(SESSION_COOKIE.length + 1).split('.');
      expect(Number(expiresAt) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
      // Another expiry with the same MAC is a forgery too.
      expect((await decode({ Cookie: `${SESSION_COOKIE}=${Number(expiresAt) + 1}.${mac}`, Origin: UI_ORIGIN })).status).toBe(401);
    });

    it('a session cookie stops working when it expires, whatever the browser keeps', async () => {
      let clock = Date.now();
      const server = createCodecServer({
        codec: payloadCodecFor({ PAYLOAD_ENCRYPTION_KEYS: KEYS })!,
        token: TOKEN,
        allowedOrigin: UI_ORIGIN,
        now: () => clock,
      });
      try {
        const signedIn = await server.inject({
          method: 'POST',
          url: '/session',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ token: TOKEN }).toString(),
        });
        const cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;
        const call = () => server.inject({ method: 'POST', url: '/decode', headers: { cookie, 'content-type': 'application/json' }, payload: encrypted });
        expect((await call()).statusCode).toBe(200);
        clock += 12 * 3600_000 + 1;
        expect((await call()).statusCode).toBe(401);
      } finally {
        await server.close();
      }
    });

    it('answers 400 to a body that is not payloads and 422 to a payload it cannot decrypt', async () => {
      const auth = { Authorization: `Bearer ${TOKEN}` };
      expect((await decode(auth, { nope: true })).status).toBe(400);
      const tampered = structuredClone(encrypted);
      tampered.payloads[0]!.data = Buffer.from('x'.repeat(64)).toString('base64');
      const refused = await decode(auth, tampered);
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { error: string }).error).toMatch(/failed authentication/);
    });
  });
});

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
