import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { listQuery } from '../../src/domain/schemas/queries.js';
import type { FastifyInstance } from 'fastify';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { migrate } from '../../src/ledger/migrations.js';
import { OPERATOR_TOKEN, apiOn, oenRefundEvent, useApi } from '../helpers/api.js';
import { approveUpdate } from '../../src/workflows/messages.js';
import { newSigningKey, signDecision } from '../../src/domain/decision-proof.js';
import { useEngine } from '../helpers/engine.js';
import { currentRelease } from '../../src/release.js';

const engine = useEngine('api-refunds');
// Refunds of NT$1,000 and more wait for an approver; of NT$5,000 and more, for two.
const api = useApi(engine, { workerEnv: { APPROVAL_THRESHOLD: '1000', DUAL_APPROVAL_THRESHOLD: '5000' } });

async function statusOf(refundId: string): Promise<unknown> {
  return (await api().request('GET', `/v1/refunds/${refundId}`)).body.status;
}

describe('status API', () => {
  it('GET /v1/refunds/:refundId: 404 for an unknown one, naming it', async () => {
    expect(await api().request('GET', '/v1/refunds/RF-nope')).toEqual({ status: 404, body: { error: 'no refund RF-nope' } });
  });

  it('GET /v1/refunds lists by order, status and time of last update, newest first, a page at a time', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const event = await oenRefundEvent(engine(), { orderId, amount: 500 });
      expect((await api().send(event)).status).toBe(202);
      ids.push(event.data.refundId);
      await expect.poll(() => statusOf(event.data.refundId), { timeout: 30_000 }).toBe('succeeded');
    }
    const first = await api().request('GET', `/v1/refunds?orderId=${orderId}&status=succeeded&limit=2`);
    expect(first.status).toBe(200);
    expect((first.body.refunds as Array<{ refundId: string }>).map((r) => r.refundId)).toEqual([ids[2], ids[1]]);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await api().request('GET', `/v1/refunds?orderId=${orderId}&status=succeeded&limit=2&cursor=${String(first.body.next)}`);
    expect((second.body.refunds as Array<{ refundId: string; uiUrl: string }>).map((r) => r.refundId)).toEqual([ids[0]]);
    expect(second.body.next).toBeUndefined();
    expect((await api().request('GET', `/v1/refunds?orderId=${orderId}&status=failed`)).body).toEqual({ refunds: [] });

    // Last updated two hours ago: the only one waiting longer than an hour.
    await engine().db.query(`UPDATE refunds SET updated_at = now() - interval '2 hours' WHERE refund_id = $1`, [ids[1]]);
    const hourAgo = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString().replace('Z', '+00:00'));
    const waiting = await api().request('GET', `/v1/refunds?orderId=${orderId}&updatedBefore=${hourAgo}`);
    expect(waiting.status).toBe(200);
    expect((waiting.body.refunds as Array<{ refundId: string }>).map((r) => r.refundId)).toEqual([ids[1]]);
  }, 120_000);

  it('GET /v1/refunds: 422 naming each bad parameter', async () => {
    const answer = await api().request('GET', '/v1/refunds?status=done&limit=0&cursor=garbage&colour=red&updatedBefore=2026-11-25T07:00:00');
    expect(answer.status).toBe(422);
    expect(answer.body.problems).toEqual(
      expect.arrayContaining([
        { field: 'status', problem: expect.stringMatching(/received/) as unknown },
        { field: 'limit', problem: 'must be at least 1' },
        { field: 'updatedBefore', problem: 'must be a date and time with its offset, e.g. 2026-11-25T07:00:00Z' },
        { field: '(body)', problem: 'has fields this type does not take: colour' },
      ]),
    );
    const cursor = await api().request('GET', '/v1/refunds?cursor=garbage');
    expect(cursor).toEqual({
      status: 422,
      body: { error: 'invalid query', problems: [{ field: 'cursor', problem: 'the cursor is not one this API gave out: start again without one' }] },
    });
  });

  it('unknown routes answer 404 with the route', async () => {
    expect(await api().request('GET', '/v2/whatever?x=1')).toEqual({ status: 404, body: { error: 'no route GET /v2/whatever' } });
  });
});

describe('operator API', () => {
  /** An event sent and its refund awaiting approval; `event` is sent as it is (default: a fresh Oen refund). */
  async function awaitingEvent(event?: Awaited<ReturnType<typeof oenRefundEvent>>) {
    const sent = event ?? (await oenRefundEvent(engine()));
    expect((await api().send(sent)).status).toBe(202);
    await expect.poll(() => statusOf(sent.data.refundId), { timeout: 30_000 }).toBe('awaiting_approval');
    return sent;
  }
  const awaiting = async () => (await awaitingEvent()).data.refundId;

  it('a decision whose attempted row cannot be written is not carried out: 503, the run is not asked', async () => {
    const refundId = await awaiting();
    // The ledger refuses this refund's attempted rows, as a full disk or a lost connection would.
    await engine().db.exec(`
      CREATE FUNCTION test_refuse_attempts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit disk is full'; END; $$;
      CREATE TRIGGER test_refuse_attempts BEFORE INSERT ON operator_audit FOR EACH ROW
        WHEN (NEW.outcome = 'attempted' AND NEW.refund_id = '${refundId}') EXECUTE FUNCTION test_refuse_attempts();`);
    try {
      const refused = await api().request('POST', `/v1/refunds/${refundId}/reject`, { body: { reason: 'customer changed their mind' } });
      expect(refused).toEqual({ status: 503, body: { error: 'the audit trail cannot be written: reject was not carried out; try again' } });
    } finally {
      await engine().db.exec('DROP TRIGGER test_refuse_attempts ON operator_audit; DROP FUNCTION test_refuse_attempts();');
    }
    // The run was never asked: the refund still waits, with no decision, and the trail has no row of it.
    const record = (await api().request('GET', `/v1/refunds/${refundId}`)).body as { status: string; decisions?: unknown[] };
    expect(record.status).toBe('awaiting_approval');
    expect(record.decisions ?? []).toEqual([]);
    expect((await api().request('GET', `/v1/audit?refundId=${refundId}`)).body.entries).toEqual([]);
    // With the trail writable again the same decision goes through, attempted then done.
    expect((await api().request('POST', `/v1/refunds/${refundId}/reject`, { body: { reason: 'customer changed their mind' } })).status).toBe(200);
    const trail = (await api().request('GET', `/v1/audit?refundId=${refundId}`)).body.entries as Array<{
      action: string;
      outcome: string;
      statusBefore?: string;
    }>;
    expect(trail.map((e) => [e.action, e.outcome, e.statusBefore])).toEqual([
      ['reject', 'attempted', 'awaiting_approval'],
      ['reject', 'done', 'awaiting_approval'],
    ]);
  });

  it('refuses without a credential or with a wrong one (401), and a viewer (403), saying which; each refusal is audited', async () => {
    const refundId = await awaiting();
    const none = await api().request('POST', `/v1/refunds/${refundId}/approve`, { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/^this endpoint needs "Authorization: Bearer <credential>": a named API key/);
    expect(await api().request('POST', `/v1/refunds/${refundId}/approve`, { token: 'guess' })).toMatchObject({
      status: 401,
      body: { error: expect.stringMatching(/^the bearer credential is not one this API takes/) as unknown },
    });
    expect(await api().request('POST', `/v1/refunds/${refundId}/approve`, { token: `${api().keys.approver.slice(0, -4)}AAAA` })).toEqual({
      status: 401,
      body: { error: 'the API key is not a live key of this engine (unknown or revoked)' },
    });
    const viewer = await api().request('POST', `/v1/refunds/${refundId}/approve`, { token: api().keys.viewer });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error).toMatch(/^viewer-\w+ is viewer; POST \/v1\/refunds\/:refundId\/approve needs the approver role$/);
    const operator = await api().request('POST', `/v1/refunds/${refundId}/reject`, { token: api().keys.operator });
    expect(operator.status).toBe(403);
    expect(await statusOf(refundId)).toBe('awaiting_approval');

    const trail = await api().request('GET', `/v1/audit?refundId=${refundId}`, { token: api().keys.viewer });
    expect(trail.status).toBe(200);
    expect(trail.body.entries).toEqual([
      expect.objectContaining({
        action: 'approve',
        outcome: 'refused',
        actor: { id: 'unauthenticated', name: '(no valid credential)' },
        detail: { httpStatus: 401 },
      }),
      expect.objectContaining({ action: 'approve', outcome: 'refused', detail: { httpStatus: 401 } }),
      expect.objectContaining({ action: 'approve', outcome: 'refused', detail: { httpStatus: 401 } }),
      expect.objectContaining({
        action: 'approve',
        outcome: 'refused',
        actor: expect.objectContaining({ role: 'viewer' }) as unknown,
        detail: { httpStatus: 403 },
      }),
      expect.objectContaining({
        action: 'reject',
        outcome: 'refused',
        actor: expect.objectContaining({ role: 'operator' }) as unknown,
        detail: { httpStatus: 403 },
      }),
    ]);
    expect((await api().request('POST', `/v1/refunds/${refundId}/cancel`, { token: api().keys.operator })).status).toBe(200);
  });

  it('reads need a credential too: 401 without one, 200 for a viewer; the health checks and /openapi.json (no data) need none', async () => {
    expect((await api().request('GET', '/v1/refunds', { token: null })).status).toBe(401);
    expect((await api().request('GET', '/v1/refunds/RF-nope', { token: null })).status).toBe(401);
    expect((await api().request('GET', '/v1/refunds', { token: api().keys.viewer })).status).toBe(200);
    expect((await api().request('GET', '/healthz', { token: null })).status).toBe(200);
    const openapi = await api().request('GET', '/openapi.json', { token: null });
    expect(openapi.status).toBe(200);
    expect(openapi.body.openapi).toBe('3.1.0');
    // A credential that proves nothing does not make it refuse.
    expect((await api().request('GET', '/openapi.json', { token: 'rf_nope_nope' })).status).toBe(200);
  });

  it('approve: the refund goes on and succeeds; a second decision is 409 with the reason', async () => {
    const refundId = await awaiting();
    const approved = await api().request('POST', `/v1/refunds/${refundId}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ refundId, status: expect.stringMatching(/submitting|succeeded/) as unknown });
    await expect.poll(() => statusOf(refundId), { timeout: 30_000 }).toBe('succeeded');
    const again = await api().request('POST', `/v1/refunds/${refundId}/reject`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/cannot reject: refund .* is succeeded and its run has ended|cannot reject: the refund is/);
  }, 90_000);

  it('reject and cancel end it cancelled with who and why', async () => {
    const rejected = await awaiting();
    const answer = await api().request('POST', `/v1/refunds/${rejected}/reject`, {
      body: { reason: 'duplicate order' },
    });
    expect(answer).toMatchObject({ status: 200, body: { refundId: rejected } });
    await expect
      .poll(async () => (await api().request('GET', `/v1/refunds/${rejected}`)).body, { timeout: 30_000 })
      .toMatchObject({
        status: 'cancelled',
        error: { code: 'Rejected', message: expect.stringMatching(/^rejected by approver-\w+ \(approver, key:approver-\w+\): duplicate order$/) as unknown },
        decisions: [
          {
            action: 'reject',
            by: { id: expect.stringMatching(/^key:approver-/) as unknown, name: expect.any(String) as unknown, role: 'approver' },
            verified: true,
            at: expect.any(String) as unknown,
            reason: 'duplicate order',
          },
        ],
      });
    const cancelled = await awaiting();
    const cancel = await api().request('POST', `/v1/refunds/${cancelled}/cancel`, { token: api().keys.operator });
    expect(cancel).toMatchObject({ status: 200, body: { status: 'cancelled' } });
  }, 120_000);

  it('a decision reaches the refund it names: approving a cancelled refund never approves the next refund of its transaction', async () => {
    // RF-A cancelled; RF-B asked for the same Oen transaction, awaiting approval under the same workflow id.
    const first = await awaitingEvent();
    expect((await api().request('POST', `/v1/refunds/${first.data.refundId}/cancel`)).status).toBe(200);
    await expect.poll(() => statusOf(first.data.refundId), { timeout: 30_000 }).toBe('cancelled');
    const second = await awaitingEvent({ ...first, id: `evt_${randomUUID()}`, data: { ...first.data, refundId: `RF-${randomUUID()}` } });

    const misdirected = await api().request('POST', `/v1/refunds/${first.data.refundId}/approve`, {});
    expect(misdirected.status).toBe(409);
    expect(misdirected.body.error).toMatch(new RegExp(`refund ${first.data.refundId} is cancelled and its run has ended`));
    expect(await statusOf(second.data.refundId)).toBe('awaiting_approval');

    // The run itself refuses a decision that names another refund (sent by hand to the workflow id).
    const handle = engine().temporal.client.workflow.getHandle(`oen-refund-${first.data.transactionHid}`);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId: first.data.refundId }] })).rejects.toMatchObject({
      cause: { message: `cannot approve: this run is refund ${second.data.refundId}, not ${first.data.refundId}` },
    });
    expect(await statusOf(second.data.refundId)).toBe('awaiting_approval');
    const named = await api().request('POST', `/v1/refunds/${second.data.refundId}/cancel`, { body: { refundId: first.data.refundId } });
    expect(named).toMatchObject({ status: 422, body: { problems: [{ field: 'refundId' }] } });
    expect((await api().request('POST', `/v1/refunds/${second.data.refundId}/cancel`)).status).toBe(200);
  }, 120_000);

  it("a run refuses a decision without the API's proof (sent by hand), with a forged proof, or with a proof taken from another decision", async () => {
    const event = await awaitingEvent();
    const { refundId } = event.data;
    const record = (await api().request('GET', `/v1/refunds/${refundId}`)).body as { workflowId: string; runId: string };
    const handle = engine().temporal.client.workflow.getHandle(record.workflowId, record.runId);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId }] })).rejects.toMatchObject({
      cause: {
        message: expect.stringMatching(
          new RegExp(
            `^cannot approve: the decision carries no proof of who made it .*Use \`npx refundflow approve ${refundId}\` or POST /v1/refunds/${refundId}/approve`,
          ),
        ) as unknown,
      },
    });
    const actor = { id: 'key:mallory', name: 'mallory', role: 'approver', via: 'api-key' } as const;
    const unsigned = { action: 'approve', refundId, runId: record.runId, actor, requestId: 'r-1', issuedAt: Date.now() } as const;
    const forged = signDecision(unsigned, '', newSigningKey());
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId, proof: forged }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/^cannot approve: the proof is not signed by a key this worker trusts/) as unknown },
    });
    // A real signature, but for a cancel: it does not prove an approval, nor one with another reason.
    const cancelProof = signDecision({ ...unsigned, action: 'cancel' }, '', api().signingKey);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId, proof: cancelProof }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/^cannot approve: the proof is for cancel, not approve/) as unknown },
    });
    const approveProof = signDecision(unsigned, 'looks fine', api().signingKey);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId, reason: 'something else', proof: approveProof }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/not signed by a key this worker trusts/) as unknown },
    });
    const stale = signDecision({ ...unsigned, issuedAt: Date.now() - 3_600_000 }, '', api().signingKey);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId, proof: stale }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/^cannot approve: the proof was signed 3600 s ago/) as unknown },
    });
    const viewerProof = signDecision({ ...unsigned, actor: { ...actor, role: 'viewer' } }, '', api().signingKey);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId, proof: viewerProof }] })).rejects.toMatchObject({
      cause: { message: 'cannot approve: mallory is viewer; this needs the approver role' },
    });
    expect(await statusOf(refundId)).toBe('awaiting_approval');
    // The same proof the API would send is taken.
    await handle.executeUpdate(approveUpdate, { args: [{ refundId, reason: 'looks fine', proof: approveProof }] });
    await expect.poll(() => statusOf(refundId), { timeout: 30_000 }).toBe('succeeded');
    expect((await api().request('GET', `/v1/refunds/${refundId}`)).body.decisions).toEqual([
      {
        action: 'approve',
        by: { id: 'key:mallory', name: 'mallory', role: 'approver' },
        verified: true,
        at: expect.any(String) as unknown,
        reason: 'looks fine',
      },
    ]);
  }, 90_000);

  it('four eyes: at DUAL_APPROVAL_THRESHOLD a refund needs two different approvers', async () => {
    const event = await awaitingEvent(await oenRefundEvent(engine(), { amount: 5000 }));
    const { refundId } = event.data;
    const first = await api().request('POST', `/v1/refunds/${refundId}/approve`, { body: { reason: 'customer called' } });
    expect(first).toMatchObject({
      status: 200,
      body: { status: 'awaiting_approval', approvalsNeeded: 2, approvals: [{ by: expect.stringMatching(/^approver-/) as unknown }] },
    });
    const again = await api().request('POST', `/v1/refunds/${refundId}/approve`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(
      /^cannot approve: approver-\w+ approved already; a refund of at least NT\$5,000 needs two approvers who are different people$/,
    );
    expect(await statusOf(refundId)).toBe('awaiting_approval');
    const second = await api().request('POST', `/v1/refunds/${refundId}/approve`, { token: api().keys.approver2 });
    expect(second.status).toBe(200);
    await expect.poll(() => statusOf(refundId), { timeout: 30_000 }).toBe('succeeded');
    const record = (await api().request('GET', `/v1/refunds/${refundId}`)).body as { decisions: Array<{ by: { id: string } }> };
    expect(record.decisions.map((d) => d.by.id)).toEqual([expect.stringMatching(/^key:approver-/), expect.stringMatching(/^key:approver2-/)]);
    const trail = await api().request('GET', `/v1/audit?refundId=${refundId}`);
    // Each decision is attempted before its run is asked, then done or refused by the run.
    expect((trail.body.entries as Array<{ outcome: string; statusAfter?: string }>).map((e) => [e.outcome, e.statusAfter])).toEqual([
      ['attempted', undefined],
      ['done', 'awaiting_approval'],
      ['attempted', undefined],
      ['refused', 'awaiting_approval'],
      ['attempted', undefined],
      ['done', expect.stringMatching(/submitting|succeeded/)],
    ]);
  }, 90_000);

  it('the deprecated OPERATOR_TOKEN still decides, as an approver named for it', async () => {
    const refundId = await awaiting();
    expect((await api().request('POST', `/v1/refunds/${refundId}/reject`, { token: OPERATOR_TOKEN })).status).toBe(200);
    await expect
      .poll(async () => (await api().request('GET', `/v1/refunds/${refundId}`)).body.error, { timeout: 30_000 })
      .toEqual({
        code: 'Rejected',
        message: 'rejected by OPERATOR_TOKEN (deprecated) (approver, operator-token)',
      });
  }, 90_000);

  it('a refund id ends once: the same refund in a new event is not started again, and says where it stands', async () => {
    const event = await awaitingEvent();
    expect((await api().request('POST', `/v1/refunds/${event.data.refundId}/reject`)).status).toBe(200);
    await expect.poll(() => statusOf(event.data.refundId), { timeout: 30_000 }).toBe('cancelled');
    const runs = async () => {
      const ids: string[] = [];
      for await (const w of engine().temporal.client.workflow.list({ query: `WorkflowId="oen-refund-${event.data.transactionHid}"` })) ids.push(w.runId);
      return ids;
    };
    const before = await runs();
    const again = await api().send({ ...event, id: `evt_${randomUUID()}` });
    expect(again).toMatchObject({ status: 200, body: { refunds: [{ refundId: event.data.refundId, status: 'cancelled' }] } });
    expect(await runs()).toEqual(before);
    expect(await statusOf(event.data.refundId)).toBe('cancelled');
  }, 90_000);

  it('400 for a body that is not JSON, 422 for malformed input, 404 for an unknown refund or action', async () => {
    const refundId = await awaiting();
    const notJson = await fetch(`${api().url}/v1/refunds/${refundId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api().keys.approver}`, 'content-type': 'application/json' },
      body: '{"by": alice}',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: expect.stringMatching(/^the body is not valid JSON: /) as unknown });
    expect(await statusOf(refundId)).toBe('awaiting_approval');
    const bad = await api().request('POST', `/v1/refunds/${refundId}/approve`, { body: { by: 'alice', note: 'x' } });
    expect(bad.status).toBe(422);
    expect(bad.body.problems).toEqual(
      expect.arrayContaining([
        { field: 'by', problem: 'is no longer taken: the decision is recorded under the identity you signed in with' },
        { field: '(body)', problem: 'has fields this type does not take: note' },
      ]),
    );
    expect((await api().request('POST', '/v1/refunds/RF-nope/approve')).status).toBe(404);
    expect((await api().request('POST', `/v1/refunds/${refundId}/explode`)).status).toBe(404);
    await api().request('POST', `/v1/refunds/${refundId}/cancel`);
  });
});

/** An API of its own on `db`, with no signing key, no worker and no dispatcher. */
async function bareApi(db: Database): Promise<{ app: FastifyInstance; url: string }> {
  const app = apiOn(db, engine().temporal.client, { taskQueue: engine().temporal.taskQueue });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

describe('an API without OPERATOR_SIGNING_KEY', () => {
  it('answers 503 on the decisions, saying why', async () => {
    const e = engine();
    const { app, url } = await bareApi(e.db);
    try {
      const response = await fetch(`${url}/v1/refunds/RF-1/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api().keys.approver}` },
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'decisions are disabled: OPERATOR_SIGNING_KEY is not set on this API' });
    } finally {
      await app.close();
    }
  });
});

describe('a refund accepted whose run has not written the ledger yet', () => {
  it('GET answers it from the inbox as received, under the workflow id its run gets', async () => {
    // A ledger of its own, with no dispatcher: the accepted event stays unstarted.
    const db = await pgliteDatabase();
    await migrate(db);
    const inbox = new EventInbox(db);
    const { app, url } = await bareApi(db);
    try {
      const data = { refundId: 'RF-INBOX-1', provider: 'oen', orderId: 'ORDER-1', transactionHid: 'P20261125ABCDEFGH', amount: 300 } as const;
      await inbox.accept({
        event: { id: 'evt_inbox_1', source: 'test', type: 'refund.requested', data },
        bodyHash: 'x',
        answer: { statusCode: 202, body: {} },
      });
      const { key } = await new ApiKeys(db).add('reader', 'viewer', 'test');
      const response = await fetch(`${url}/v1/refunds/RF-INBOX-1`, { headers: { authorization: `Bearer ${key}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        ...data,
        status: 'received',
        attempts: 0,
        workflowId: 'oen-refund-P20261125ABCDEFGH',
        uiUrl: 'http://localhost:8233/namespaces/default/workflows/oen-refund-P20261125ABCDEFGH',
      });
    } finally {
      await app.close();
      await db.close();
    }
  });
});

describe('health and the API description', () => {
  it('/healthz and /readyz (Temporal and the ledger answer)', async () => {
    // The release the process runs (src/release.ts): this checkout's version and commit.
    const release = currentRelease();
    expect(await api().request('GET', '/healthz')).toEqual({
      status: 200,
      body: { status: 'ok', release: { version: release.version, commit: release.commit, buildId: release.buildId } },
    });
    expect(release.buildId).toMatch(new RegExp(`^${release.version.replaceAll('.', '\\.')}-${release.commit ?? 'missing'}(-modified-[0-9a-f]{8})?$`));
    expect(await api().request('GET', '/readyz')).toEqual({
      status: 200,
      body: {
        status: 'ok',
        checks: [
          { name: 'temporal', status: 'ok' },
          { name: 'ledger', status: 'ok' },
        ],
      },
    });
  });

  it('/openapi.json describes every endpoint, with the event schemas the intake enforces, and names the address the API listens on', async () => {
    const { status, body } = await api().request('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect((body.servers as Array<{ url: string }>).map((server) => server.url)).toEqual([api().url]);
    expect(Object.keys(body.paths as object).sort()).toEqual(
      [
        '/healthz',
        '/metrics',
        '/readyz',
        '/v1/events',
        '/v1/refunds',
        '/v1/refunds/{refundId}',
        '/v1/refunds/{refundId}/approve',
        '/v1/refunds/{refundId}/cancel',
        '/v1/refunds/{refundId}/reject',
        '/v1/refunds/{refundId}/resolve',
        '/v1/audit',
        '/v1/operators',
        '/v1/operators/{name}/confirm',
        '/v1/operators/{name}/revoke',
        '/v1/outcomes',
        '/v1/outcomes/{eventId}/redeliver',
        '/v1/deployment',
        '/v1/deployment/promote',
        '/v1/deployment/ramp',
        '/openapi.json',
      ].sort(),
    );
    const paths = body.paths as Record<string, Record<string, { responses: Record<string, unknown>; 'x-required-role'?: string; security?: unknown }>>;
    for (const action of ['approve', 'reject', 'cancel']) {
      expect(Object.keys(paths[`/v1/refunds/{refundId}/${action}`]?.post?.responses ?? {}), action).toEqual([
        '200',
        '400',
        '401',
        '403',
        '404',
        '409',
        '422',
        '503',
      ]);
    }
    // Each endpoint states the access the API enforces (taken from the routes themselves).
    const roles = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op['x-required-role']}`),
    );
    expect(roles.sort()).toEqual(
      [
        'GET /healthz public',
        'GET /metrics viewer',
        'GET /readyz public',
        'POST /v1/events signed',
        'GET /v1/refunds viewer',
        'GET /v1/refunds/{refundId} viewer',
        'POST /v1/refunds/{refundId}/approve approver',
        'POST /v1/refunds/{refundId}/reject approver',
        'POST /v1/refunds/{refundId}/cancel operator',
        'POST /v1/refunds/{refundId}/resolve operator',
        'GET /v1/audit viewer',
        'GET /v1/operators admin',
        'POST /v1/operators admin',
        'POST /v1/operators/{name}/confirm admin',
        'POST /v1/operators/{name}/revoke admin',
        'GET /v1/outcomes viewer',
        'POST /v1/outcomes/{eventId}/redeliver operator',
        'GET /v1/deployment viewer',
        'POST /v1/deployment/promote approver',
        'POST /v1/deployment/ramp approver',
        'GET /openapi.json public',
      ].sort(),
    );
    expect(paths['/v1/events']?.post?.security).toBeUndefined();
    expect(paths['/v1/refunds']?.get?.security).toEqual([{ bearer: [] }]);
    const listed = (paths['/v1/refunds'] as unknown as { get: { parameters: Array<{ name: string }> } }).get.parameters.map((p) => p.name);
    expect(listed.sort()).toEqual(Object.keys(listQuery.shape).sort());
    const text = JSON.stringify(body);
    // The refund amount's rules come from the zod schema itself.
    expect(text).toContain('"transactionHid"');
    expect(text).toContain('"exclusiveMinimum":0');
    expect(text).toContain('"maximum":100000000');
  });

  it('docs/api.md answers with the codes /openapi.json describes', async () => {
    const { body } = await api().request('GET', '/openapi.json');
    const paths = body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const documented = (heading: string) => {
      const section =
        readFileSync('docs/api.md', 'utf8')
          .split(/^## /m)
          .find((s) => s.startsWith(heading)) ?? '';
      return [...section.matchAll(/^\| `(\d{3})` \|/gm)].map((m) => m[1]).sort();
    };
    const described = (path: string) => Object.keys(paths[path]?.post?.responses ?? {}).sort();
    expect(documented('POST /v1/events')).toEqual(described('/v1/events'));
    // The operator table lists the refusals; the 200 is the example above it.
    expect(['200', ...documented('POST /v1/refunds/:refundId/approve')].sort()).toEqual(described('/v1/refunds/{refundId}/approve'));
  });
});
