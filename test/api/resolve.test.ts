import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import { useApi, type Body } from '../helpers/api.js';
import { useEngine } from '../helpers/engine.js';
import { admin, sandboxRefunds, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';

/**
 * POST /v1/refunds/:refundId/resolve over real HTTP: the API, a worker, the dev server and the
 * emulators. Refunds reach requires_attention as they do in production: Oen answering HTTP 500 until
 * the (short) retry window ends, MWD's gateway answering 504 after MWD acted.
 */
const engine = useEngine('api-resolve');
const api = useApi(engine, { workerEnv: { PROVIDER_RETRY_WINDOW_SECONDS: '5' } });

beforeEach(async () => {
  await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', {});
  await admin(engine().sandboxes.mwdUrl, 'PUT', 'faults', {});
});

async function sendAndWait(data: RefundRequested, status: string): Promise<void> {
  const event = { specversion: '1.0', id: `evt_${randomUUID()}`, source: 'order-management', type: 'refund.requested', data };
  expect((await api().send(event)).status).toBe(202);
  await expect.poll(async () => (await api().request('GET', `/v1/refunds/${data.refundId}`)).body.status, { timeout: 60_000 }).toBe(status);
}

/** An Oen refund Oen never carried out (HTTP 500 to every send), left in requires_attention. */
async function oenNotActed() {
  const request = await seededOenRefund(engine().sandboxes.oenUrl);
  await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', { [`refund@${request.transactionHid}`]: { http500: 1 } });
  await sendAndWait(request, 'requires_attention');
  await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', {});
  return request;
}

/** An MWD refund MWD carried out, whose answer a gateway replaced with a 504: requires_attention. */
async function mwdInDoubt() {
  const request = await seededMwdRefund(engine().sandboxes.mwdUrl);
  await admin(engine().sandboxes.mwdUrl, 'PUT', 'faults', { [`refund@${request.orderId}`]: { next: ['gateway504AfterCommit'] } });
  await sendAndWait(request, 'requires_attention');
  return request;
}

const resolve = (refundId: string, body: unknown, token?: string | null) =>
  api().request('POST', `/v1/refunds/${refundId}/resolve`, { body, ...(token !== undefined && { token }) });
const oenRefundsOf = async (hid: string) => (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === hid);
const auditOf = async (refundId: string) => (await api().request('GET', `/v1/audit?refundId=${refundId}`)).body.entries as Array<Record<string, unknown>>;

describe('resolve an Oen refund: the engine asks Oen first', () => {
  it('a success Oen does not show is refused (409) with Oen’s evidence; a retry sends it once, as Oen shows it still charged; a second resolve is 409', async () => {
    const request = await oenNotActed();
    const contradicted = await resolve(
      request.refundId,
      { outcome: 'succeeded', providerReference: request.transactionHid, evidence: 'the customer says it arrived' },
      api().keys.operator,
    );
    expect(contradicted.status).toBe(409);
    expect(contradicted.body).toMatchObject({
      code: 'contradicts_provider',
      error: expect.stringMatching(/^Oen shows/) as unknown,
      providerEvidence: expect.stringMatching(new RegExp(`^Oen lists ${request.transactionHid} .* nothing refunded`)) as unknown,
      workflowId: `resolve:${request.refundId}`,
    });
    expect(await oenRefundsOf(request.transactionHid)).toEqual([]);

    const retried = await resolve(request.refundId, { action: 'retry', reason: 'Oen was down; it is back' }, api().keys.operator);
    expect(retried).toMatchObject({ status: 200, body: { refundId: request.refundId, status: 'succeeded', workflowId: `resolve:${request.refundId}` } });
    expect(await oenRefundsOf(request.transactionHid)).toHaveLength(1);
    const record = (await api().request('GET', `/v1/refunds/${request.refundId}`)).body as Body & { decisions: Array<Record<string, unknown>> };
    expect(record).toMatchObject({ status: 'succeeded', providerReference: request.transactionHid });
    expect(record.decisions).toEqual([
      expect.objectContaining({
        action: 'resolve',
        by: {
          id: expect.stringMatching(/^key:operator-/) as unknown,
          name: expect.any(String) as unknown,
          role: 'operator',
          person: expect.stringMatching(/^operator-/) as unknown,
        },
        verified: true,
      }),
    ]);

    const again = await resolve(request.refundId, { action: 'retry' }, api().keys.operator);
    expect(again).toEqual({
      status: 409,
      body: { error: `cannot resolve refund ${request.refundId}: it is succeeded; only a refund in requires_attention is resolved` },
    });
    expect(await oenRefundsOf(request.transactionHid)).toHaveLength(1);

    expect((await auditOf(request.refundId)).map((e) => [e.action, e.outcome, e.statusAfter, (e.detail as { code?: string } | undefined)?.code])).toEqual([
      ['resolve', 'attempted', undefined, undefined],
      ['resolve', 'refused', 'requires_attention', 'contradicts_provider'],
      ['resolve', 'attempted', undefined, undefined],
      ['resolve', 'done', 'succeeded', undefined],
      ['resolve', 'refused', 'succeeded', undefined],
    ]);
  }, 90_000);

  it('failed is taken when Oen shows the transaction still charged, with nothing sent', async () => {
    const request = await oenNotActed();
    const failed = await resolve(
      request.refundId,
      { outcome: 'failed', evidence: 'the order was refunded by bank transfer instead (ticket 4411)' },
      api().keys.operator,
    );
    expect(failed).toMatchObject({ status: 200, body: { status: 'failed', providerEvidence: expect.stringMatching(/nothing refunded/) as unknown } });
    expect(await oenRefundsOf(request.transactionHid)).toEqual([]);
    expect((await api().request('GET', `/v1/refunds/${request.refundId}`)).body).toMatchObject({ status: 'failed', error: { code: 'ResolvedFailed' } });
  }, 90_000);

  it('a refund resolved failed may be asked again under a new refund id: 202, and one refund at Oen, under the same workflow id', async () => {
    const request = await oenNotActed();
    const failed = await resolve(request.refundId, { outcome: 'failed', evidence: 'Oen lists it still charged (ticket 4412)' }, api().keys.operator);
    expect(failed).toMatchObject({ status: 200, body: { status: 'failed' } });
    // The first run completed (it ended in requires_attention): Temporal's reuse policy alone would refuse the next one.
    const again = { ...request, refundId: `RF-${randomUUID()}` };
    await sendAndWait(again, 'succeeded');
    expect((await api().request('GET', `/v1/refunds/${again.refundId}`)).body).toMatchObject({
      status: 'succeeded',
      workflowId: `oen-refund-${request.transactionHid}`,
    });
    expect(await oenRefundsOf(request.transactionHid)).toHaveLength(1);
    expect((await api().request('GET', `/v1/refunds/${request.refundId}`)).body).toMatchObject({ status: 'failed' });
  }, 150_000);

  it('an order.cancelled after a refund of its transaction was resolved failed refunds the transaction: its run follows the closed one', async () => {
    const request = await oenNotActed();
    expect(await resolve(request.refundId, { outcome: 'failed', evidence: 'Oen lists it still charged (ticket 4413)' }, api().keys.operator)).toMatchObject({
      status: 200,
    });
    const event = {
      specversion: '1.0',
      id: `evt_${randomUUID()}`,
      source: 'order-management',
      type: 'order.cancelled',
      data: { orderId: request.orderId, provider: 'oen' },
    };
    expect((await api().send(event)).status).toBe(202);
    const orderRefund = `${request.orderId}:${request.transactionHid}`;
    await expect.poll(async () => (await api().request('GET', `/v1/refunds/${orderRefund}`)).body.status, { timeout: 60_000 }).toBe('succeeded');
    expect(await oenRefundsOf(request.transactionHid)).toHaveLength(1);
    const order: unknown = await engine().temporal.client.workflow.getHandle(`order-cancelled-${request.orderId}`).result();
    expect(order).toMatchObject({ refunds: [expect.objectContaining({ refundId: orderRefund, status: 'succeeded' })], notRefunded: [] });
  }, 150_000);
});

describe('resolve an MWD refund: an approver’s word, with evidence', () => {
  it('refuses an operator (403), a retry (409), no evidence (422); takes an approver’s success with evidence', async () => {
    const request = await mwdInDoubt();
    const operator = await resolve(
      request.refundId,
      { outcome: 'succeeded', providerReference: 'MWD-REF-1', evidence: 'MWD back office' },
      api().keys.operator,
    );
    expect(operator.status).toBe(403);
    expect(operator.body.error).toMatch(/is operator; resolving an MWD refund is an approver's word/);
    const retry = await resolve(request.refundId, { action: 'retry' });
    expect(retry.status).toBe(409);
    expect(retry.body.error).toMatch(/MWD cannot be asked whether it refunded, so nothing is sent again/);
    const bare = await resolve(request.refundId, { outcome: 'succeeded', providerReference: 'MWD-REF-1', evidence: '  ' });
    expect(bare).toMatchObject({ status: 422, body: { problems: [{ field: 'evidence', problem: expect.stringMatching(/^is required/) as unknown }] } });

    const done = await resolve(request.refundId, {
      outcome: 'succeeded',
      providerReference: 'MWD-REF-1',
      evidence: 'MWD merchant portal lists the refund of order on 29 Nov',
    });
    expect(done).toMatchObject({ status: 200, body: { refundId: request.refundId, status: 'succeeded' } });
    expect((await api().request('GET', `/v1/refunds/${request.refundId}`)).body).toMatchObject({
      status: 'succeeded',
      providerReference: 'MWD-REF-1',
      decisions: [
        expect.objectContaining({
          action: 'resolve',
          by: expect.objectContaining({ role: 'approver' }) as unknown,
          evidence: expect.stringMatching(/MWD merchant portal/) as unknown,
        }),
      ],
    });
    expect((await auditOf(request.refundId)).map((e) => [e.outcome, (e.actor as { role?: string }).role])).toEqual([
      ['refused', 'operator'],
      ['refused', 'approver'],
      ['refused', 'approver'],
      ['attempted', 'approver'],
      ['done', 'approver'],
    ]);
  }, 90_000);

  it('a viewer is 403 and no credential 401, both audited; an unknown refund is 404', async () => {
    const body = { outcome: 'failed', evidence: 'x' };
    expect((await resolve('RF-nope', body, api().keys.viewer)).status).toBe(403);
    expect((await resolve('RF-nope', body, null)).status).toBe(401);
    expect(await resolve('RF-nope', body)).toEqual({ status: 404, body: { error: 'no refund RF-nope' } });
    expect((await auditOf('RF-nope')).map((e) => (e.detail as { httpStatus: number }).httpStatus)).toEqual([403, 401, 404]);
  });
});
