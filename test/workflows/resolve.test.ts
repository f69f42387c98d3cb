import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

import type { Actor } from '../../src/domain/actor.js';
import { newSigningKey, signDecision } from '../../src/domain/decision-proof.js';
import { unverifiedDecider } from '../../src/domain/operator.js';
import type { ReconcileReport } from '../../src/domain/reconcile.js';
import { resolveStartOptions, type RefundToResolve } from '../../src/domain/refund-start.js';
import { resolutionDetails, resolveWorkflowId, type Resolution, type ResolveInput, type ResolveResult } from '../../src/domain/resolution.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import type { OenRefundRequested, RefundRequested } from '../../src/domain/schemas/refund-request.js';
import { RefundStatusKey } from '../../src/domain/search-attributes.js';
import type { reconcileWorkflow } from '../../src/workflows/reconcile.js';
import type { resolveWorkflow } from '../../src/workflows/resolve.js';
import { mwdInLedger, useEngine, useWorkerWithOutcomes, outcomesDelivered } from '../helpers/engine.js';
import { recordHistory } from '../helpers/histories.js';
import { startAccepted, throughInbox } from '../helpers/inbox.js';
import { admin, sandboxRefunds, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';

const engine = useEngine('resolve');
const signingKey = newSigningKey();

const people = {
  ann: { id: 'key:ann', name: 'ann', role: 'approver', via: 'api-key' },
  otto: { id: 'key:otto', name: 'otto', role: 'operator', via: 'api-key' },
  vic: { id: 'key:vic', name: 'vic', role: 'viewer', via: 'api-key' },
} satisfies Record<string, Actor>;

const receiver = useWorkerWithOutcomes(engine, { OPERATOR_SIGNING_KEY: signingKey });

beforeEach(async () => {
  await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', {});
  await admin(engine().sandboxes.mwdUrl, 'PUT', 'faults', {});
});

const oenFaults = (body: unknown) => admin(engine().sandboxes.oenUrl, 'PUT', 'faults', body);

/** A resolution as the API sends it: signed for `actor` with the worker's key (or another, or long ago). */
function signed(
  refundId: string,
  resolution: Resolution,
  actor: Actor = people.otto,
  { key = signingKey, issuedAt = Date.now(), forRefund = refundId }: { key?: string; issuedAt?: number; forRefund?: string } = {},
): ResolveInput {
  const unsigned = {
    action: 'resolve' as const,
    refundId: forRefund,
    workflowId: resolveWorkflowId(forRefund),
    actor,
    requestId: `req-${randomUUID()}`,
    issuedAt,
  };
  const proof = signDecision(unsigned, resolutionDetails(resolution), key);
  return { refundId, resolution, proof };
}

/** Starts a resolution as the API does (resolveStartOptions, with the refund as the ledger holds it) and waits for its result. */
async function resolve(input: ResolveInput, { history, taskQueue }: { history?: string; taskQueue?: string } = {}): Promise<ResolveResult> {
  const { client } = engine().temporal;
  const handle = await client.workflow.start<typeof resolveWorkflow>(
    'resolveWorkflow',
    resolveStartOptions(input, await refundToResolve(input.refundId), taskQueue ?? engine().temporal.taskQueue),
  );
  const result = await handle.result();
  if (history) await recordHistory(`resolveWorkflow.${history}`, handle);
  return result;
}

async function refundToResolve(refundId: string): Promise<RefundToResolve> {
  return (await engine().ledger.get(refundId)) ?? { refundId, provider: 'oen', orderId: 'unknown', amount: 1, status: 'requires_attention' };
}

async function refundRun(request: RefundRequested): Promise<RefundRecord> {
  const { client, taskQueue } = engine().temporal;
  const started = await startAccepted(client, taskQueue, engine().db, request);
  return client.workflow.getHandle(started.workflowId).result() as Promise<RefundRecord>;
}

/** Oen answered every send with HTTP 500 until the retry window ran out: requires_attention, and Oen shows it still charged. */
async function oenNotActed(): Promise<OenRefundRequested> {
  const request = await seededOenRefund(engine().sandboxes.oenUrl, { reason: '客戶取消訂單' });
  await throughInbox(engine().db, request);
  await oenFaults({ [`refund@${request.transactionHid}`]: { http500: 1 } });
  expect(await refundRun(request)).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
  await oenFaults({});
  return request;
}

/** Oen refunded it and dropped the connection, and could not list the order for the rest of the window: requires_attention, and Oen shows it refunded. */
async function oenActed(): Promise<OenRefundRequested> {
  const request = await seededOenRefund(engine().sandboxes.oenUrl);
  await throughInbox(engine().db, request);
  await oenFaults({
    [`refund@${request.transactionHid}`]: { next: ['commitThenDrop'] },
    [`listTransactions@${request.orderId}`]: { next: [null], http500: 1 },
  });
  expect(await refundRun(request)).toMatchObject({ status: 'requires_attention' });
  await oenFaults({});
  expect(await oenRefundsOf(request.transactionHid)).toHaveLength(1);
  return request;
}

const oenRefundsOf = async (hid: string) => (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === hid);
/** Every refund request that reached the Oen emulator for this transaction, faulted ones included. */
const oenSendsOf = async (hid: string) =>
  (await admin<{ requests: Array<{ reference: string }> }>(engine().sandboxes.oenUrl, 'GET', 'refund-requests')).requests.filter((r) => r.reference === hid)
    .length;
/** The outcome events order management was sent for the refund, once the relay has sent every one the ledger holds. */
const outcomesOf = async (refundId: string) => {
  await outcomesDelivered(engine().db);
  return receiver()
    .deliveries.filter((d) => d.refundId === refundId)
    .map((d) => d.type);
};

async function reconcile(): Promise<ReconcileReport> {
  const { client, taskQueue } = engine().temporal;
  return client.workflow.execute<typeof reconcileWorkflow>('reconcileWorkflow', {
    taskQueue,
    workflowId: `reconcile-${randomUUID()}`,
    args: [{ policy: { resubmit: true } }],
  });
}

describe('resolveWorkflow: Oen, on what Oen shows', () => {
  it('succeeded, when Oen shows the refund: settled, confirmed, told, shown in the Web UI; failed is refused with Oen’s evidence; reconciliation sends nothing', async () => {
    const request = await oenActed();
    const sendsBefore = await oenSendsOf(request.transactionHid);

    const failed = await resolve(signed(request.refundId, { outcome: 'failed', evidence: 'the customer says no money came back' }), {
      history: 'refused-contradiction',
    });
    expect(failed).toMatchObject({ resolved: false, code: 'contradicts_provider', providerEvidence: expect.stringMatching(/NT\$1,000 refunded/) as unknown });
    expect((failed as { refused: string }).refused).toMatch(/^Oen shows it refunded: resolve it as succeeded \(Oen lists /);
    const wrongReference = await resolve(signed(request.refundId, { outcome: 'succeeded', providerReference: 'X-1', evidence: 'seen in the back office' }));
    expect(wrongReference).toMatchObject({
      resolved: false,
      code: 'invalid',
      refused: expect.stringMatching(new RegExp(`reference of refund .* is ${request.transactionHid}, not X-1`)) as unknown,
    });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention' });

    const input = signed(request.refundId, {
      outcome: 'succeeded',
      providerReference: request.transactionHid,
      evidence: 'Oen back office shows the refund on 29 Nov',
    });
    const { client } = engine().temporal;
    const handle = await client.workflow.start<typeof resolveWorkflow>(
      'resolveWorkflow',
      resolveStartOptions(input, await refundToResolve(request.refundId), engine().temporal.taskQueue),
    );
    expect(await handle.result()).toEqual({
      resolved: true,
      status: 'succeeded',
      providerEvidence: expect.stringMatching(/^Oen lists .* NT\$1,000 refunded/) as unknown,
    });
    await recordHistory('resolveWorkflow.oen-succeeded', handle);

    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'succeeded', providerReference: request.transactionHid });
    expect(record?.error).toBeUndefined();
    expect(record?.decisions).toEqual([
      {
        action: 'resolve',
        by: { id: 'key:otto', name: 'otto', role: 'operator' },
        verified: true,
        at: expect.any(String) as unknown,
        reason: `as succeeded (reference ${request.transactionHid})`,
        evidence: expect.stringMatching(/^Oen back office shows the refund on 29 Nov; Oen lists .* NT\$1,000 refunded/) as unknown,
      },
    ]);
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.succeeded']);

    // In the Web UI: its summary, the refund's search attributes with the new status, each step named.
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(`Resolve ${request.refundId} as succeeded (Oen)`);
    expect(await description.staticDetails()).toMatch(/Asked by: otto \(operator, key:otto\)/);
    expect(description.typedSearchAttributes.get(RefundStatusKey)).toBe('succeeded');
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(
      new RegExp(
        `^\\*\\*Resolve ${request.refundId} as succeeded \\(Oen\\)\\*\\* — the refund is succeeded\n\nRefund ${request.refundId}: NT\\$1,000 of Oen transaction`,
      ),
    );
    const { events } = await handle.fetchHistory();
    const steps = (events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .map((e) => (e.userMetadata?.summary ? String(defaultPayloadConverter.fromPayload(e.userMetadata.summary)) : undefined));
    expect(steps).toEqual([
      "Read the worker's refund policy (approval threshold, retry window)",
      `Ledger: read refund ${request.refundId}`,
      'Ledger: claim the signed resolution of otto (operator, key:otto) for this run',
      `Ask Oen about ${request.refundId}: list order ${request.orderId}`,
      `Ledger: ${request.refundId} → succeeded, resolved by otto (operator, key:otto)`,
    ]);

    // Settled and confirmed: reconciliation neither asks again nor sends.
    const report = await reconcile();
    expect(report.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    expect(await oenSendsOf(request.transactionHid)).toBe(sendsBefore);
    expect(await oenRefundsOf(request.transactionHid)).toHaveLength(1);
    // Resolved once: a second resolution finds it settled.
    expect(await resolve(signed(request.refundId, { action: 'retry' }))).toMatchObject({
      resolved: false,
      code: 'not_requires_attention',
      status: 'succeeded',
    });
  });

  it('failed, when Oen shows the transaction still charged with nothing refunded; succeeded is refused; the refund is never sent again', async () => {
    const request = await oenNotActed();
    const succeeded = await resolve(
      signed(request.refundId, { outcome: 'succeeded', providerReference: request.transactionHid, evidence: 'I think it went through' }),
    );
    expect(succeeded).toMatchObject({
      resolved: false,
      code: 'contradicts_provider',
      providerEvidence: expect.stringMatching(/status "charged".*nothing refunded/) as unknown,
    });

    const result = await resolve(signed(request.refundId, { outcome: 'failed', evidence: 'the card was closed; order management refunds by bank transfer' }), {
      history: 'oen-failed',
    });
    expect(result).toMatchObject({ resolved: true, status: 'failed' });
    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'failed', error: { code: 'ResolvedFailed' } });
    expect(record?.error?.message).toMatch(/^resolved as failed by otto \(operator, key:otto\): the card was closed; .*; Oen lists .*status "charged"/);
    expect(record?.decisions?.map((d) => [d.action, d.by.name, d.reason])).toEqual([['resolve', 'otto', 'as failed']]);
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.failed']);

    const sends = await oenSendsOf(request.transactionHid);
    await reconcile();
    expect(await oenSendsOf(request.transactionHid)).toBe(sends);
    expect(await oenRefundsOf(request.transactionHid)).toEqual([]);
    expect((await engine().ledger.get(request.refundId))?.status).toBe('failed');
  });

  it('a retry is sent, check then act, only when Oen shows the transaction still charged: exactly one send', async () => {
    const request = await oenNotActed();
    const sends = await oenSendsOf(request.transactionHid);
    const result = await resolve(signed(request.refundId, { action: 'retry', reason: 'Oen is back' }), { history: 'oen-retry' });
    expect(result).toMatchObject({ resolved: true, status: 'succeeded', providerEvidence: expect.stringMatching(/status "charged"/) as unknown });
    expect(await oenSendsOf(request.transactionHid)).toBe(sends + 1);
    const refunds = await oenRefundsOf(request.transactionHid);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount: 1000 });
    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'succeeded', providerReference: request.transactionHid });
    expect(record?.decisions?.map((d) => [d.by.name, d.reason])).toEqual([['otto', 'sent again: Oen is back']]);
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.succeeded']);
  });

  it('a retry Oen shows refunded is refused, with nothing sent: resolve it as succeeded', async () => {
    const request = await oenActed();
    const sends = await oenSendsOf(request.transactionHid);
    const result = await resolve(signed(request.refundId, { action: 'retry' }));
    expect(result).toMatchObject({
      resolved: false,
      code: 'contradicts_provider',
      refused: expect.stringMatching(/^Oen shows it refunded: resolve it as succeeded/) as unknown,
    });
    expect(await oenSendsOf(request.transactionHid)).toBe(sends);
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention' });
    expect((await engine().ledger.get(request.refundId))?.decisions).toBeUndefined();
  });

  it('a retry whose send ends without proof is back with a person, and reconciliation never sends it again', async () => {
    const request = await oenNotActed();
    await oenFaults({ [`refund@${request.transactionHid}`]: { http500: 1 } });
    const sends = await oenSendsOf(request.transactionHid);
    const result = await resolve(signed(request.refundId, { action: 'retry' }), { history: 'oen-retry-unresolved' });
    expect(result).toMatchObject({ resolved: true, status: 'requires_attention' });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
    expect(await oenSendsOf(request.transactionHid)).toBeGreaterThan(sends);
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.requires_attention']);

    await oenFaults({});
    const after = await oenSendsOf(request.transactionHid);
    const report = await reconcile();
    expect(report.notes.find((n) => n.refundId === request.refundId)?.evidence).toMatch(
      /otto resolved it \(sent again\): reconciliation never sends a resolved refund again/,
    );
    expect(await oenSendsOf(request.transactionHid)).toBe(after);
    expect(await oenRefundsOf(request.transactionHid)).toEqual([]);
  });

  it('an Oen that cannot be asked changes nothing, and says so', async () => {
    const request = await oenNotActed();
    await oenFaults({ [`listTransactions@${request.orderId}`]: { http500: 1 } });
    const result = await resolve(signed(request.refundId, { outcome: 'failed', evidence: 'card closed' }));
    expect(result).toMatchObject({
      resolved: false,
      code: 'provider_unreachable',
      refused: expect.stringMatching(/^Oen could not be asked, so nothing was changed/) as unknown,
    });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
  });
});

describe('resolveWorkflow: MWD, on an approver’s word', () => {
  it('succeeded, with MWD’s reference and the approver’s evidence; an operator is refused, and a retry never happens', async () => {
    const request = await seededMwdRefund(engine().sandboxes.mwdUrl);
    await admin(engine().sandboxes.mwdUrl, 'PATCH', 'faults', { [`refund@${request.orderId}`]: { next: ['commitThenDrop'] } });
    expect(await refundRun(request)).toMatchObject({ status: 'requires_attention', error: { code: expect.stringMatching(/^Mwd/) as unknown } });
    const resolution: Resolution = {
      outcome: 'succeeded',
      providerReference: 'MW2026112900000042',
      evidence: 'MWD back office: refunded, trade MW2026112900000042',
    };

    expect(await resolve(signed(request.refundId, resolution, people.otto))).toMatchObject({
      resolved: false,
      code: 'forbidden',
      refused: 'cannot resolve: otto is operator; this needs the approver role',
    });
    expect(await resolve(signed(request.refundId, { action: 'retry' }, people.ann))).toMatchObject({
      resolved: false,
      code: 'invalid',
      refused: expect.stringMatching(/^An MWD refund is never sent again/) as unknown,
    });

    expect(await resolve(signed(request.refundId, resolution, people.ann), { history: 'mwd-succeeded' })).toEqual({ resolved: true, status: 'succeeded' });
    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'succeeded', providerReference: 'MW2026112900000042' });
    expect(record?.decisions).toMatchObject([{ action: 'resolve', by: { name: 'ann', role: 'approver' }, verified: true, evidence: resolution.evidence }]);
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.succeeded']);
    // No provider call: MWD received the one send of the refund's own run.
    const { requests } = await admin<{ requests: Array<{ reference: string }> }>(engine().sandboxes.mwdUrl, 'GET', 'refund-requests');
    expect(requests.filter((r) => r.reference === request.orderId)).toHaveLength(1);
  });

  it('failed, on an approver’s word with evidence', async () => {
    const request = await seededMwdRefund(engine().sandboxes.mwdUrl);
    await admin(engine().sandboxes.mwdUrl, 'PATCH', 'faults', { [`refund@${request.orderId}`]: { next: ['hang'] } });
    expect(await refundRun(request)).toMatchObject({ status: 'requires_attention' });
    expect(await resolve(signed(request.refundId, { outcome: 'failed', evidence: 'MWD support: no refund on this order' }, people.ann))).toEqual({
      resolved: true,
      status: 'failed',
    });
    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({
      status: 'failed',
      error: { code: 'ResolvedFailed', message: 'resolved as failed by ann (approver, key:ann): MWD support: no refund on this order' },
    });
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.failed']);
  });
});

describe('resolveWorkflow: who may resolve', () => {
  const word: Resolution = { outcome: 'failed', evidence: 'MWD support: no refund' };

  it('refuses a resolution without the API’s proof, with a forged, stale or misdirected one, or from a viewer; nothing changes', async () => {
    const request = await mwdInLedger(engine());
    const { refundId } = request;
    const refusals = [
      await resolve({ refundId, resolution: word }, { history: 'refused-forbidden' }),
      await resolve(signed(refundId, word, people.ann, { key: newSigningKey() })),
      await resolve(signed(refundId, word, people.ann, { issuedAt: Date.now() - 11 * 60_000 })),
      await resolve(signed(refundId, word, people.ann, { forRefund: 'RF-other' })),
      await resolve({ ...signed(refundId, word, people.ann), resolution: { outcome: 'failed', evidence: 'changed after signing' } }),
      await resolve(signed(refundId, word, people.vic)),
    ];
    expect(refusals.map((r) => (r.resolved ? 'resolved' : r.code))).toEqual(Array(6).fill('forbidden'));
    expect(refusals.map((r) => (r.resolved ? '' : r.refused))).toEqual([
      expect.stringMatching(
        /^cannot resolve: the decision carries no proof of who made it .*Use `npx refundflow resolve RF-.*` or POST \/v1\/refunds\/RF-.*\/resolve/,
      ),
      expect.stringMatching(/not signed by a key this worker trusts/),
      expect.stringMatching(/the proof was signed \d+ s ago; it is good for 600 s/),
      expect.stringMatching(/the proof is for refund RF-other, not RF-/),
      expect.stringMatching(/not signed by a key this worker trusts/),
      'cannot resolve: vic is viewer; this needs the approver role',
    ]);
    expect(await engine().ledger.get(refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'MwdOutcomeUnknown' } });
  });

  it('takes an unsigned resolution only where the worker accepts unsigned decisions (embedded dev mode), recorded as unverified', async () => {
    const request = await mwdInLedger(engine());
    const taskQueue = `${engine().temporal.taskQueue}-unsigned`;
    const devWorker = await engine().worker({ REFUNDS_TASK_QUEUE: taskQueue, ALLOW_UNSIGNED_DECISIONS: 'true' });
    const result = await devWorker.runUntil(resolve({ refundId: request.refundId, resolution: word }, { taskQueue }));
    expect(result).toEqual({ resolved: true, status: 'failed' });
    expect((await engine().ledger.get(request.refundId))?.decisions).toMatchObject([
      { action: 'resolve', by: unverifiedDecider, verified: false, evidence: word.evidence },
    ]);
  });

  it('refuses a refund not in requires_attention, one the ledger does not have, and input it cannot read', async () => {
    const request = await mwdInLedger(engine());
    await engine().ledger.transition(request.refundId, 'failed', { error: { code: 'MwdRefused', message: 'refused' } });
    expect(await resolve(signed(request.refundId, word, people.ann))).toEqual({
      resolved: false,
      code: 'not_requires_attention',
      refused: `Refund ${request.refundId} is failed: only a refund in requires_attention is resolved`,
      status: 'failed',
    });
    expect(await resolve(signed('RF-nobody-has', word, people.ann))).toEqual({
      resolved: false,
      code: 'not_found',
      refused: 'The ledger has no refund RF-nobody-has',
    });
    const bad = await resolve({ refundId: request.refundId, resolution: { outcome: 'failed', evidence: '' } });
    expect(bad).toEqual({ resolved: false, code: 'invalid', refused: 'Invalid resolution: resolution.evidence: must not be empty' });
  });

  it('one resolution at a time per refund: Temporal refuses a second start while one runs', async () => {
    const request = await mwdInLedger(engine());
    const { client, taskQueue } = engine().temporal;
    const input = signed(request.refundId, word, people.ann);
    const refund = await refundToResolve(request.refundId);
    // On a task queue no worker polls, the first stays open.
    const first = await client.workflow.start<typeof resolveWorkflow>('resolveWorkflow', resolveStartOptions(input, refund, `${taskQueue}-idle`));
    try {
      expect(first.workflowId).toBe(resolveWorkflowId(request.refundId));
      await expect(client.workflow.start<typeof resolveWorkflow>('resolveWorkflow', resolveStartOptions(input, refund, taskQueue))).rejects.toThrow(
        WorkflowExecutionAlreadyStartedError,
      );
    } finally {
      await first.terminate('test over');
    }
    // Once it ended, another may run.
    expect(await resolve(signed(request.refundId, word, people.ann))).toEqual({ resolved: true, status: 'failed' });
  });
});
