import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcSettings } from '../../src/domain/oidc.js';
import { signDecision } from '../../src/domain/decision-proof.js';
import { resolveStartOptions } from '../../src/domain/refund-start.js';
import type { Resolution } from '../../src/domain/resolution.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { approveUpdate } from '../../src/workflows/messages.js';
import { OPERATOR_TOKEN, oenRefundEvent, useApi } from '../helpers/api.js';
import { useEngine } from '../helpers/engine.js';
import { recordHistory } from '../helpers/histories.js';
import { admin, sandboxRefunds } from '../helpers/sandbox.js';

/**
 * Four eyes are two people (money-safety rule 8): each way one person could be counted twice toward
 * a refund that needs two approvers, tried over the real API, worker, dev server and ledger. The
 * worker takes unsigned updates as `npm start`'s embedded dev mode does (ALLOW_UNSIGNED_DECISIONS).
 */
const oidc: OidcSettings = { issuer: 'https://login.four-eyes.test', audience: 'https://api.four-eyes.test', rolesClaim: 'roles', clockSkewSeconds: 0 };
const engine = useEngine('api-four-eyes');
const issuer = useIssuer(oidc);
// Refunds of NT$1,000 and more wait for an approver; of NT$5,000 and more, for two people.
const api = useApi(engine, { workerEnv: { APPROVAL_THRESHOLD: '1000', DUAL_APPROVAL_THRESHOLD: '5000', ALLOW_UNSIGNED_DECISIONS: 'true' }, oidc });

/** An OpenID issuer of our own: its keys served over HTTP as a JWKS, its tokens signed here. Set up before the API, which reads `settings`. */
function useIssuer(settings: OidcSettings) {
  let server: Server | undefined;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] | undefined;
  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'four-eyes', alg: 'RS256', use: 'sig' }] });
    server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    settings.jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });
  return {
    /** An access token for subject `sub`, an approver. */
    token: (sub: string, name: string) =>
      new SignJWT({ name, roles: ['approver'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'four-eyes', typ: 'at+jwt' })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey!),
  };
}

/** A fresh Oen refund of NT$`amount` awaiting approval. */
async function awaiting(amount = 5000) {
  const event = await oenRefundEvent(engine(), { amount });
  expect((await api().send(event)).status).toBe(202);
  await expect.poll(() => statusOf(event.data.refundId), { timeout: 30_000 }).toBe('awaiting_approval');
  return event.data;
}

async function statusOf(refundId: string): Promise<unknown> {
  return (await api().request('GET', `/v1/refunds/${refundId}`)).body.status;
}

const approve = (refundId: string, token: string) => api().request('POST', `/v1/refunds/${refundId}/approve`, { token });

/** The refund still waits, and Oen was never asked to refund its transaction. */
async function notSent(refund: { refundId: string; transactionHid: string }) {
  expect(await statusOf(refund.refundId)).toBe('awaiting_approval');
  expect((await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === refund.transactionHid)).toEqual([]);
}

/** The name and person of a key, as an admin lists them. */
async function keyOf(key: string): Promise<{ name: string; person: string }> {
  const keys = (await api().request('GET', '/v1/operators', { token: api().keys.admin })).body.keys as Array<{ keyId: string; name: string; person: string }>;
  return keys.find((k) => key.startsWith(`rf_${k.keyId}_`))!;
}
const personOf = async (key: string) => (await keyOf(key)).person;

const refusedAsSamePerson = (answer: { status: number; body: { error?: string } }, person: string) => {
  expect(answer.status).toBe(409);
  expect(answer.body.error).toMatch(
    new RegExp(
      `^cannot approve: .+ counts as ${person}, who approved already \\(as .+\\); a refund of at least NT\\$5,000 needs two approvers who are different people$`,
    ),
  );
};

describe('one person cannot be both approvers of a refund at DUAL_APPROVAL_THRESHOLD', () => {
  it('an approver cannot make a key for themself: managing keys is the admin role', async () => {
    const refund = await awaiting();
    expect((await approve(refund.refundId, api().keys.approver)).body.status).toBe('awaiting_approval');
    const minted = await api().request('POST', '/v1/operators', {
      token: api().keys.approver,
      body: { name: `me-again-${randomUUID().slice(0, 6)}`, role: 'approver' },
    });
    expect(minted.status).toBe(403);
    expect(minted.body.error).toMatch(/^approver-\w+ is approver; POST \/v1\/operators needs the admin role$/);
    await notSent(refund);
  });

  it("an admin granting a key, in their own name or a colleague's, is never shown it: a second admin confirms the grant and is the one shown the key, which then counts as them too", async () => {
    const refund = await awaiting();
    const admin = api().keys.admin;
    expect((await approve(refund.refundId, api().keys.admin2)).body.status).toBe('awaiting_approval');
    const name = `colleague-${randomUUID().slice(0, 6)}`;
    const granted = await api().request('POST', '/v1/operators', { token: admin, body: { name, role: 'approver' } });
    expect(granted).toMatchObject({ status: 202, body: { name, role: 'approver', person: name, pending: true } });
    expect(granted.body.key).toBeUndefined();
    const own = await api().request('POST', `/v1/operators/${name}/confirm`, { token: admin });
    expect(own.status).toBe(409);
    expect(own.body.error).toMatch(new RegExp(`^admin-\\w+ granted ${name}'s key: a second person confirms a grant$`));
    // Until confirmed there is no key; the second admin confirms it and is shown it.
    const confirmed = await api().request('POST', `/v1/operators/${name}/confirm`, { token: api().keys.admin2 });
    expect(confirmed).toMatchObject({ status: 200, body: { name, person: name, key: expect.stringMatching(/^rf_/) as unknown } });
    expect((await api().request('POST', `/v1/operators/${name}/confirm`, { token: api().keys.admin2 })).status).toBe(404);
    // The confirmer already approved: the key they were shown counts as them.
    refusedAsSamePerson(await approve(refund.refundId, confirmed.body.key as string), await personOf(api().keys.admin2));
    await notSent(refund);
    const trail = (await api().request('GET', `/v1/audit?actor=key:${(await keyOf(admin)).name}`, { token: api().keys.viewer })).body.entries as Array<{
      action: string;
      outcome: string;
      detail?: Record<string, unknown>;
    }>;
    expect(trail.filter((e) => e.action.startsWith('operator.') && e.detail?.name === name).map((e) => [e.action, e.outcome])).toEqual([
      ['operator.add', 'attempted'],
      ['operator.add', 'done'],
      ['operator.confirm', 'attempted'],
      ['operator.confirm', 'refused'],
    ]);
  });

  it('two keys of one person count once', async () => {
    const refund = await awaiting();
    const person = await personOf(api().keys.approver);
    const name = `second-key-${randomUUID().slice(0, 6)}`;
    expect((await api().request('POST', '/v1/operators', { token: api().keys.admin, body: { name, role: 'approver', person } })).status).toBe(202);
    const second = await api().request('POST', `/v1/operators/${name}/confirm`, { token: api().keys.admin2 });
    expect(second.body.person).toBe(person);
    expect((await approve(refund.refundId, api().keys.approver)).body.status).toBe('awaiting_approval');
    refusedAsSamePerson(await approve(refund.refundId, second.body.key as string), person);
    await notSent(refund);
  });

  it('the shared OPERATOR_TOKEN is no one: it is never one of two approvers, before or after a key; below the dual threshold it still approves', async () => {
    const refund = await awaiting();
    const tokenFirst = await approve(refund.refundId, OPERATOR_TOKEN);
    expect(tokenFirst.status).toBe(409);
    expect(tokenFirst.body.error).toBe(
      'cannot approve: OPERATOR_TOKEN (deprecated) cannot be one of two people: the shared OPERATOR_TOKEN names no person; use a named key or an OIDC sign-in; ' +
        'a refund of at least NT$5,000 needs two approvers who are different people',
    );
    expect((await approve(refund.refundId, api().keys.approver)).body.status).toBe('awaiting_approval');
    expect((await approve(refund.refundId, OPERATOR_TOKEN)).status).toBe(409);
    await notSent(refund);
    const small = await awaiting(1000);
    expect((await approve(small.refundId, OPERATOR_TOKEN)).status).toBe(200);
    await expect.poll(() => statusOf(small.refundId), { timeout: 30_000 }).toBe('succeeded');
  }, 120_000);

  it("an OIDC sign-in and a key of the same person count once: the key's person is the OIDC subject", async () => {
    const refund = await awaiting();
    const sub = `00u${randomUUID().slice(0, 8)}`;
    // Made in the ledger as an admin's grant for that person would make it.
    const { key } = await new ApiKeys(engine().db).add(`ann-${sub}`, 'approver', 'test', { person: sub });
    expect((await approve(refund.refundId, await issuer.token(sub, 'Ann Lee'))).body.status).toBe('awaiting_approval');
    refusedAsSamePerson(await approve(refund.refundId, key), sub);
    await notSent(refund);
  });

  it('an OIDC sign-in and a key named for the subject, made before keys had persons, count once', async () => {
    const refund = await awaiting();
    const sub = `legacy${randomUUID().slice(0, 8)}`;
    const { key } = await new ApiKeys(engine().db).add(sub, 'approver', 'test');
    expect((await approve(refund.refundId, key)).body.status).toBe('awaiting_approval');
    refusedAsSamePerson(await approve(refund.refundId, await issuer.token(sub, 'Legacy Lee')), sub);
    await notSent(refund);
  });

  it('an unsigned approval (dev mode takes them from the Web UI or temporal) is never one of two approvers', async () => {
    const refund = await awaiting();
    const { workflowId, runId } = (await api().request('GET', `/v1/refunds/${refund.refundId}`)).body as { workflowId: string; runId: string };
    const handle = engine().temporal.client.workflow.getHandle(workflowId, runId);
    const unsigned =
      /^cannot approve: someone with access to Temporal \(unverified\) cannot be one of two people: an update without the API's signed proof names no person/;
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId: refund.refundId }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(unsigned) as unknown },
    });
    expect((await approve(refund.refundId, api().keys.approver)).body.status).toBe('awaiting_approval');
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId: refund.refundId }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(unsigned) as unknown },
    });
    await notSent(refund);
  });

  it('the run is the last gate: two signed approvals of one person reaching it through Temporal count once', async () => {
    const refund = await awaiting();
    const { workflowId, runId } = (await api().request('GET', `/v1/refunds/${refund.refundId}`)).body as { workflowId: string; runId: string };
    const handle = engine().temporal.client.workflow.getHandle(workflowId, runId);
    const proofFor = (keyName: string) =>
      signDecision(
        {
          action: 'approve',
          refundId: refund.refundId,
          runId,
          actor: { id: `key:${keyName}`, name: keyName, role: 'approver', via: 'api-key', person: 'pat' },
          requestId: randomUUID(),
          issuedAt: Date.now(),
        },
        '',
        api().signingKey,
      );
    await handle.executeUpdate(approveUpdate, { args: [{ refundId: refund.refundId, proof: proofFor('pat-1') }] });
    await expect(handle.executeUpdate(approveUpdate, { args: [{ refundId: refund.refundId, proof: proofFor('pat-2') }] })).rejects.toMatchObject({
      cause: {
        message:
          'cannot approve: pat-2 counts as pat, who approved already (as pat-1); a refund of at least NT$5,000 needs two approvers who are different people',
      },
    });
    await notSent(refund);
  });

  it('two people: the refund is sent, and its record and the audit trail say which two approved', async () => {
    const refund = await awaiting();
    const [ann, bob] = [await personOf(api().keys.approver), await personOf(api().keys.approver2)];
    expect((await approve(refund.refundId, api().keys.approver)).body).toMatchObject({ approvals: [{ person: ann }] });
    expect((await approve(refund.refundId, api().keys.approver2)).status).toBe(200);
    await expect.poll(() => statusOf(refund.refundId), { timeout: 30_000 }).toBe('succeeded');
    const record = (await api().request('GET', `/v1/refunds/${refund.refundId}`)).body as { decisions: Array<{ by: { person?: string } }> };
    expect(record.decisions.map((d) => d.by.person)).toEqual([ann, bob]);
    const trail = (await api().request('GET', `/v1/audit?refundId=${refund.refundId}`)).body.entries as Array<{
      outcome: string;
      detail?: { person?: string; approvals?: Array<{ person?: string }> };
    }>;
    expect(trail.map((e) => [e.outcome, e.detail?.person])).toEqual([
      ['attempted', ann],
      ['done', ann],
      ['attempted', bob],
      ['done', bob],
    ]);
    expect(trail[3]!.detail!.approvals!.map((a) => a.person)).toEqual([ann, bob]);
    await recordHistory('refundWorkflow.dual-approval', engine().temporal.client.workflow.getHandle(`oen-refund-${refund.transactionHid}`));
  }, 90_000);
});

describe('one person cannot settle a refund at DUAL_APPROVAL_THRESHOLD through resolve', () => {
  /** An MWD refund of NT$5,000, approved by two people, that MWD carried out while a gateway answered 504: requires_attention. */
  async function mwdInDoubt() {
    const orderId = `2026${Date.now()}${Math.floor(Math.random() * 1000)}`;
    const cardToken = `tok-${randomUUID()}`;
    await admin(engine().sandboxes.mwdUrl, 'POST', 'seed', { orders: [{ orderId, cardToken, amount: 5000 }] });
    await admin(engine().sandboxes.mwdUrl, 'PUT', 'faults', { [`refund@${orderId}`]: { next: ['gateway504AfterCommit'] } });
    const data = { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 5000, cardToken };
    expect((await api().send({ specversion: '1.0', id: `evt_${randomUUID()}`, source: 'order-management', type: 'refund.requested', data })).status).toBe(202);
    await expect.poll(() => statusOf(data.refundId), { timeout: 30_000 }).toBe('awaiting_approval');
    await approve(data.refundId, api().keys.approver);
    await approve(data.refundId, api().keys.approver2);
    await expect.poll(() => statusOf(data.refundId), { timeout: 30_000 }).toBe('requires_attention');
    return data.refundId;
  }
  const succeeded = { outcome: 'succeeded', providerReference: 'MWD-REF-9', evidence: 'MWD merchant portal lists the refund' };
  const resolve = (refundId: string, token: string, body: unknown = succeeded) => api().request('POST', `/v1/refunds/${refundId}/resolve`, { token, body });

  it("the first person's resolution waits for a second; the same person again, with another key, or with OPERATOR_TOKEN is not a second; another person settles it", async () => {
    const refundId = await mwdInDoubt();
    const first = await resolve(refundId, api().keys.approver);
    expect(first).toMatchObject({ status: 202, body: { refundId, resolution: 'awaiting_second_person', workflowId: `resolve:${refundId}` } });
    expect(await statusOf(refundId)).toBe('requires_attention');

    const again = await resolve(refundId, api().keys.approver);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(
      /^cannot confirm: approver-\w+ asked for it already; resolving a refund of at least NT\$5,000 takes two different people$/,
    );
    const person = await personOf(api().keys.approver);
    const name = `second-key-${randomUUID().slice(0, 6)}`;
    await api().request('POST', '/v1/operators', { token: api().keys.admin, body: { name, role: 'approver', person } });
    const secondKey = (await api().request('POST', `/v1/operators/${name}/confirm`, { token: api().keys.admin2 })).body.key as string;
    const sameperson = await resolve(refundId, secondKey);
    expect(sameperson.status).toBe(409);
    expect(sameperson.body.error).toMatch(new RegExp(`^cannot confirm: ${name} counts as ${person}, who asked for it already`));
    const token = await resolve(refundId, OPERATOR_TOKEN);
    expect(token.status).toBe(409);
    expect(token.body.error).toMatch(/^cannot resolve refund \S+: OPERATOR_TOKEN \(deprecated\) cannot be one of two people/);
    const other = await resolve(refundId, api().keys.approver2, { outcome: 'failed', evidence: 'something else' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatch(
      /^cannot confirm: the resolution waiting resolves it as succeeded \(reference MWD-REF-9\): a second person asks for the same one/,
    );
    expect(await statusOf(refundId)).toBe('requires_attention');

    const second = await resolve(refundId, api().keys.approver2);
    expect(second).toMatchObject({ status: 200, body: { refundId, status: 'succeeded' } });
    const record = (await api().request('GET', `/v1/refunds/${refundId}`)).body as { decisions: Array<{ action: string; by: { person?: string } }> };
    expect(record.decisions.filter((d) => d.action === 'resolve').map((d) => d.by.person)).toEqual([person, await personOf(api().keys.approver2)]);
    // The first person's 202 is pending in the audit trail, not done; each ask the run judged was attempted first.
    const trail = (await api().request('GET', `/v1/audit?refundId=${refundId}`, { token: api().keys.viewer })).body.entries as Array<{
      action: string;
      outcome: string;
    }>;
    expect(trail.filter((e) => e.action === 'resolve').map((e) => e.outcome)).toEqual([
      ...['attempted', 'pending'],
      ...['attempted', 'refused'],
      ...['attempted', 'refused'],
      'refused',
      ...['attempted', 'refused'],
      ...['attempted', 'done'],
    ]);
    await recordHistory('resolveWorkflow.mwd-dual', engine().temporal.client.workflow.getHandle(`resolve:${refundId}`));
  }, 90_000);

  it('an unsigned resolution (dev mode takes them from the Web UI or temporal) is no one: refused, nothing changed', async () => {
    const refundId = await mwdInDoubt();
    const record = await engine().ledger.get(refundId);
    const handle = await engine().temporal.client.workflow.start(
      'resolveWorkflow',
      resolveStartOptions({ refundId, resolution: succeeded as Resolution }, record!, engine().temporal.taskQueue),
    );
    expect(await handle.result()).toMatchObject({
      resolved: false,
      code: 'forbidden',
      refused: expect.stringMatching(
        /^Resolving a refund of at least NT\$5,000 takes two people: someone with access to Temporal \(unverified\) cannot be one of two people/,
      ) as unknown,
    });
    expect(await statusOf(refundId)).toBe('requires_attention');
  }, 90_000);

  it('OPERATOR_TOKEN cannot start one', async () => {
    const refundId = await mwdInDoubt();
    const token = await resolve(refundId, OPERATOR_TOKEN);
    expect(token.status).toBe(409);
    expect(token.body.error).toMatch(
      /^cannot resolve refund \S+: OPERATOR_TOKEN \(deprecated\) cannot be one of two people: the shared OPERATOR_TOKEN names no person/,
    );
    expect(await statusOf(refundId)).toBe('requires_attention');
  }, 90_000);
});
