import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { beforeEach, describe, expect, it } from 'vitest';
import { startRefund } from '../../src/client/refunds.js';
import { newSigningKey, signDecision } from '../../src/domain/decision-proof.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';
import type { MwdRefundRequested, OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { FAILURE_TEST_CARD } from '../../src/sandbox/oen.js';
import { approveUpdate, cancelUpdate, rejectUpdate, statusQuery } from '../../src/workflows/messages.js';
import type { refundWorkflow } from '../../src/workflows/refund.js';
import type { RefundLedger } from '../../src/ledger/refunds.js';
import { sandboxClients, useEngine } from '../helpers/engine.js';
import { recordHistory } from '../helpers/histories.js';
import { startAccepted, throughInbox } from '../helpers/inbox.js';
import { admin, refundRequestCount, sandboxRefunds, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';

const engine = useEngine('refund');

/** A fresh Oen transaction at the sandbox, and the refund request for it. */
const oenRefund = (overrides: Partial<OenRefundRequested> = {}, seed: Record<string, unknown> = {}) =>
  seededOenRefund(engine().sandboxes.oenUrl, { reason: '客戶取消訂單', ...overrides }, seed);

const mwdRefund = (overrides: Partial<MwdRefundRequested> = {}) => seededMwdRefund(engine().sandboxes.mwdUrl, overrides);

async function start(request: OenRefundRequested | MwdRefundRequested): Promise<WorkflowHandle<typeof refundWorkflow>> {
  const started = await startAccepted(engine().temporal.client, engine().temporal.taskQueue, engine().db, request);
  if (started.kind !== 'started') throw new Error(`not started: ${JSON.stringify(started)}`);
  return engine().temporal.client.workflow.getHandle<typeof refundWorkflow>(started.workflowId);
}

/**
 * Runs the refund on a worker until its run ends; the record, or the failure's record.
 * `history` names the run's history for the replay test (saved with RECORD_HISTORIES=1).
 */
async function run(request: OenRefundRequested | MwdRefundRequested, { worker, history }: { worker?: Worker; history?: string } = {}): Promise<RefundRecord> {
  const w = worker ?? (await engine().worker());
  return w.runUntil(async () => {
    const handle = await start(request);
    const record = await outcome(handle);
    if (history) await recordHistory(`refundWorkflow.${history}`, handle);
    return record;
  });
}

async function outcome(handle: WorkflowHandle<typeof refundWorkflow>): Promise<RefundRecord> {
  try {
    return await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      const [record] = err.cause.details ?? [];
      if (record) return record as RefundRecord;
    }
    throw err;
  }
}

async function refundsAt(provider: 'oen' | 'mwd', reference: string) {
  const url = provider === 'oen' ? engine().sandboxes.oenUrl : engine().sandboxes.mwdUrl;
  return (await sandboxRefunds(url)).filter((r) => r.reference === reference);
}

async function refundRequests(provider: 'oen' | 'mwd'): Promise<number> {
  return refundRequestCount(provider === 'oen' ? engine().sandboxes.oenUrl : engine().sandboxes.mwdUrl);
}

async function faults(provider: 'oen' | 'mwd', body: unknown): Promise<void> {
  await admin(provider === 'oen' ? engine().sandboxes.oenUrl : engine().sandboxes.mwdUrl, 'PUT', 'faults', body);
}

beforeEach(async () => {
  await faults('oen', {});
  await faults('mwd', {});
});

describe('refundWorkflow started by hand', () => {
  it('with a request its schema refuses, fails InvalidInput in its first step, naming each field, and writes and sends nothing', async () => {
    const refundId = `RF-bad-${randomUUID().slice(0, 8)}`;
    const { client, taskQueue } = engine().temporal;
    const worker = await engine().worker();
    const outcome = await worker.runUntil(
      client.workflow
        .execute('refundWorkflow', {
          taskQueue,
          workflowId: `refund-bad-${refundId}`,
          // Its shape is right (the workflow's own guard passes it); its limits are not (the schema in openRefund).
          args: [{ refundId, provider: 'mwd', orderId: 'O'.repeat(129), amount: 100, cardToken: 'tok', reason: 'x'.repeat(501) }],
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        ),
    );
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const cause = (outcome as WorkflowFailedError).cause as { cause?: { type?: string; message?: string } } | undefined;
    expect(cause?.cause ?? cause).toMatchObject({
      type: 'InvalidInput',
      message: expect.stringMatching(/^Invalid refund request: .*orderId: must be at most 128 characters.*reason: must be at most 500 characters/) as unknown,
    });
    expect(await engine().ledger.get(refundId)).toBeUndefined();
  });
});

describe('refundWorkflow, happy paths', () => {
  it('refunds an Oen transaction once, records it, and is findable by RefundStatus', async () => {
    const request = await oenRefund();
    const record = await run(request, { history: 'oen-succeeded' });

    expect(record).toMatchObject({
      refundId: request.refundId,
      status: 'succeeded',
      provider: 'oen',
      transactionHid: request.transactionHid,
      providerReference: request.transactionHid,
      amount: 1000,
      attempts: 1,
      workflowId: `oen-refund-${request.transactionHid}`,
    });
    expect(await engine().ledger.get(request.refundId)).toEqual(record);
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);

    const client = engine().temporal.client;
    await expect
      .poll(async () => {
        const found: string[] = [];
        for await (const w of client.workflow.list({ query: `RefundStatus="succeeded" AND TransactionHid="${request.transactionHid}"` })) {
          found.push(w.workflowId);
        }
        return found;
      })
      .toEqual([record.workflowId]);
  });

  it('refunds an MWD order once, keyed on the refund id', async () => {
    const request = await mwdRefund();
    const record = await run(request, { history: 'mwd-succeeded' });
    expect(record).toMatchObject({ status: 'succeeded', provider: 'mwd', attempts: 1, workflowId: `mwd-refund-${request.refundId}` });
    expect(record.providerReference).toMatch(/^MW\d+$/);
    expect(await refundsAt('mwd', request.orderId)).toHaveLength(1);
  });

  it('answers the status query and carries a readable summary', async () => {
    const request = await oenRefund();
    const worker = await engine().worker();
    await worker.runUntil(async () => {
      const handle = await start(request);
      await outcome(handle);
      expect(await handle.query(statusQuery)).toEqual({ refundId: request.refundId, status: 'succeeded', attempts: 1 });
      const description = await handle.describe();
      expect(await description.staticSummary()).toBe('Refund NT$1,000 · ' + request.orderId + ' · oen');

      // What the Web UI shows for the run and each of its steps.
      const { events } = await handle.fetchHistory();
      const text = (payload: unknown) => (payload ? String(defaultPayloadConverter.fromPayload(payload)) : undefined);
      const steps = (events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
        .map((e) => text(e.userMetadata?.summary));
      // Two steps where there were four: the claim is made as the refund opens, and the end recorded by the provider call.
      expect(steps).toEqual([
        `Ledger: open refund ${request.refundId} → submitting (unless it needs approval)`,
        `Oen refund ${request.transactionHid} NT$1,000, its end recorded in the ledger`,
      ]);
      // Issue 8's budget: the happy path stays within 20 history events (ledger and outcome steps are local activities).
      expect(events?.length).toBeLessThanOrEqual(20);
      // The UI reads the run's current details (and its updates' descriptions) through this query.
      const metadata = await handle.query<{ currentDetails?: string; definition?: { updateDefinitions?: Array<{ name: string; description?: string }> } }>(
        '__temporal_workflow_metadata',
      );
      expect(metadata.definition?.updateDefinitions?.map((u) => u.name).sort()).toEqual(['approve', 'cancel', 'reject']);
      expect(metadata.definition?.updateDefinitions?.every((u) => /Input \(optional\)/.test(u.description ?? ''))).toBe(true);
      expect(metadata.currentDetails).toMatch(/^\*\*Refund NT\$1,000 · .+ · oen\*\* — succeeded\n\nRefund RF-.+ of Oen transaction P/);
    });
  });
});

describe('refundWorkflow, transient failures and lost answers', () => {
  it('Oen F0001 three times, then success: exactly one refund', async () => {
    const request = await oenRefund();
    await faults('oen', { refund: { next: ['f0001', 'f0001', 'f0001'] } });
    const record = await run(request, { history: 'oen-f0001-then-success' });
    expect(record).toMatchObject({ status: 'succeeded', attempts: 4 });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
  });

  it('Oen HTTP 500, then success: exactly one refund', async () => {
    const request = await oenRefund();
    await faults('oen', { refund: { next: ['http500'] } });
    expect(await run(request)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
  });

  it('MWD HTTP 500, then success: exactly one refund', async () => {
    const request = await mwdRefund();
    await faults('mwd', { refund: { next: ['http500'] } });
    expect(await run(request)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await refundsAt('mwd', request.orderId)).toHaveLength(1);
  });

  it('Oen commit-then-drop: checked, found refunded, succeeded with exactly one refund', async () => {
    const request = await oenRefund();
    const before = await refundRequests('oen');
    await faults('oen', { refund: { next: ['commitThenDrop'] } });
    expect(await run(request, { history: 'oen-commit-then-drop' })).toMatchObject({ status: 'succeeded', providerReference: request.transactionHid });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
    expect((await refundRequests('oen')) - before).toBe(1);
  });

  it('Oen hang: the unknown outcome is checked, nothing refunded, sent again: one refund', async () => {
    const request = await oenRefund();
    await faults('oen', { refund: { next: ['hang'] } });
    expect(await run(request)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
  });

  it('MWD commit-then-drop: requires_attention, never a blind resend; exactly one refund', async () => {
    const request = await mwdRefund();
    const before = await refundRequests('mwd');
    await faults('mwd', { refund: { next: ['commitThenDrop'] } });
    const record = await run(request, { history: 'mwd-commit-then-drop' });
    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'MwdOutcomeUnknown' } });
    expect(record.error?.message).toMatch(/MWD cannot be asked/);
    expect(await refundsAt('mwd', request.orderId)).toHaveLength(1);
    expect((await refundRequests('mwd')) - before).toBe(1);
  });

  it('a provider that keeps failing past the retry window: requires_attention with the last error', async () => {
    const request = await oenRefund();
    await faults('oen', { refund: { http500: 1 } });
    const worker = await engine().worker({ PROVIDER_RETRY_WINDOW_SECONDS: '5' });
    const record = await run(request, { worker });
    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
    expect(record.error?.message).toMatch(
      /^The provider kept failing for 5 s, so nothing more is sent until a person settles this refund \(its last failure: /,
    );
    expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
  });
});

describe('refundWorkflow, final refusals: failed with the code, after exactly one attempt', () => {
  it.each([
    ['OenV0001', { amount: 1001 }, {}],
    ['OenT0001', { amount: 99 }, {}],
    ['OenT0005', {}, { cardNum: FAILURE_TEST_CARD }],
  ] as const)('%s', async (code, overrides, seed) => {
    const request = await oenRefund(overrides, seed);
    const before = await refundRequests('oen');
    const record = await run(request, { history: `oen-failed-${code}` });
    expect(record).toMatchObject({ status: 'failed', attempts: 1, error: { code } });
    expect((await refundRequests('oen')) - before).toBe(1);
    expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
  });

  it('a wrong Oen token: the check before sending cannot be made, so a person decides — never failed, nothing sent', async () => {
    const request = await oenRefund();
    const before = await refundRequests('oen');
    const worker = await engine().worker({}, { providers: sandboxClients(engine().sandboxes, 'wrong-token') });
    const record = await run(request, { worker });
    expect(record).toMatchObject({ status: 'requires_attention', attempts: 1, error: { code: 'OenCheckFailed' } });
    expect(record.error?.message).toMatch(/could not be read: Oen: unauthorised/);
    expect((await refundRequests('oen')) - before).toBe(0);
  });

  it('MwdRefused (a card token that does not match)', async () => {
    const request = await mwdRefund({ cardToken: 'not-the-card' });
    const before = await refundRequests('mwd');
    expect(await run(request)).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'MwdRefused' } });
    expect((await refundRequests('mwd')) - before).toBe(1);
  });

  it('a transaction Oen shows refunded by another amount goes to a person, with no POST', async () => {
    const request = await oenRefund({}, { status: 'refunded', refundAmount: 400 });
    const before = await refundRequests('oen');
    const record = await run(request, { history: 'oen-refunded-other-amount' });
    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'OenStateUnexplained' } });
    expect(record.error?.message).toMatch(/NT\$400 refunded/);
    expect((await refundRequests('oen')) - before).toBe(0);
  });
});

describe('one refund per Oen transaction', () => {
  it('a second refund id for the transaction is refused, naming the first; one refund at Oen', async () => {
    const first = await oenRefund();
    const second = { ...first, refundId: `RF-${randomUUID()}` };
    const worker = await engine().worker();
    await worker.runUntil(async () => {
      const handle = await start(first);
      const again = await startAccepted(engine().temporal.client, engine().temporal.taskQueue, engine().db, second);
      expect(again).toMatchObject({ kind: 'refused', existingRefundId: first.refundId });
      expect(again.kind === 'refused' && again.reason).toContain(first.refundId);
      await outcome(handle);
      const afterSuccess = await startRefund(engine().temporal.client, engine().temporal.taskQueue, second);
      expect(afterSuccess).toMatchObject({ kind: 'refused', existingRefundId: first.refundId });
      expect(await startRefund(engine().temporal.client, engine().temporal.taskQueue, first)).toMatchObject({ kind: 'duplicate' });
    });
    expect(await refundsAt('oen', first.transactionHid)).toHaveLength(1);
    expect(await engine().ledger.get(second.refundId)).toBeUndefined();
  });

  it('a run started outside refundflow under a refund’s workflow id ends NotRequested and does not hold the id: the accepted refund then runs', async () => {
    const request = await oenRefund();
    const mwd = await mwdRefund();
    const { client, taskQueue } = engine().temporal;
    await (
      await engine().worker()
    ).runUntil(async () => {
      for (const byHand of [request, mwd]) {
        const run = client.workflow.execute<typeof refundWorkflow>('refundWorkflow', { taskQueue, workflowId: refundWorkflowId(byHand), args: [byHand] });
        await expect(run).rejects.toMatchObject({ cause: { type: 'NotRequested' } });
        const handle = await start(byHand);
        await expect(handle.result()).resolves.toMatchObject({ refundId: byHand.refundId, status: 'succeeded' });
      }
    });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
    expect(await refundsAt('mwd', mwd.orderId)).toHaveLength(1);
  });

  it('after a failed refund, a new run for the transaction is allowed', async () => {
    const request = await oenRefund({ amount: 99 });
    expect(await run(request)).toMatchObject({ status: 'failed' });
    const retry = { ...request, refundId: `RF-${randomUUID()}`, amount: 500 };
    expect(await run(retry)).toMatchObject({ status: 'succeeded', refundId: retry.refundId });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
  });
});

describe('a second run of one refund never sends it again', () => {
  /**
   * Another run of the accepted request under its own workflow id, started again by hand whatever
   * the id's last run did (`temporal workflow start` with an id reuse policy of its choosing, the Web
   * UI's "start like this"): past the gate, the ledger holds the line.
   */
  async function runByHand(request: OenRefundRequested | MwdRefundRequested): Promise<RefundRecord> {
    const { client, taskQueue } = engine().temporal;
    await throughInbox(engine().db, request);
    return (await engine().worker()).runUntil(async () =>
      client.workflow.execute<typeof refundWorkflow>('refundWorkflow', {
        taskQueue,
        workflowId: refundWorkflowId(request),
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        args: [request],
      }),
    );
  }

  it('a refund id that already succeeded is reported as it stands, with no send', async () => {
    const request = await mwdRefund();
    const first = await run(request);
    const before = await refundRequests('mwd');
    expect(await runByHand(request)).toEqual(first);
    expect((await refundRequests('mwd')) - before).toBe(0);
    expect(await refundsAt('mwd', request.orderId)).toHaveLength(1);
  });

  it('a refund id that failed is never opened again: a second run ends failed as the first did, sending nothing', async () => {
    const request = await mwdRefund({ cardToken: 'not-the-card' });
    const first = await run(request);
    expect(first).toMatchObject({ status: 'failed', error: { code: 'MwdRefused' } });
    const before = await refundRequests('mwd');
    // Temporal allows a new run of the id after a failed one: a re-dispatch, a "start like this".
    expect(await run(request)).toEqual(first);
    expect((await refundRequests('mwd')) - before).toBe(0);
  });

  it('a cancelled refund is never sent later, whichever run asks', async () => {
    const request = await oenRefund();
    const waiting = await engine().worker({ APPROVAL_THRESHOLD: '1', ALLOW_UNSIGNED_DECISIONS: 'true' });
    const cancelled = await waiting.runUntil(async () => {
      const handle = await start(request);
      await expect.poll(async () => (await handle.query(statusQuery)).status, { timeout: 30_000 }).toBe('awaiting_approval');
      await handle.executeUpdate(rejectUpdate, { args: [{}] });
      return outcome(handle);
    });
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    const before = await refundRequests('oen');
    // A worker without the threshold would send it at once, were the refund opened again.
    expect(await run(request)).toEqual(cancelled);
    expect((await refundRequests('oen')) - before).toBe(0);
    expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
  });

  it('a run carrying another request for a live refund id is refused, naming both; nothing is sent', async () => {
    const request = await oenRefund();
    await engine().ledger.open(request, refundWorkflowId(request), 'an-earlier-run');
    const before = await refundRequests('oen');
    const other = { ...request, amount: 900 };
    const worker = await engine().worker();
    await worker.runUntil(async () => {
      const handle = await start(other);
      await expect(handle.result()).rejects.toMatchObject({
        cause: {
          type: 'RefundRequestConflict',
          message: expect.stringMatching(/is received for NT\$1,000 of Oen transaction .* but this run asks NT\$900/) as unknown,
        },
      });
    });
    expect((await refundRequests('oen')) - before).toBe(0);
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'received', amount: 1000 });
  });

  it('a refund id live under another run is refused, naming that run', async () => {
    const request = await mwdRefund();
    await engine().ledger.open(request, 'the-owner');
    await expect(runByHand(request)).rejects.toMatchObject({
      cause: { type: 'DuplicateRefund', message: expect.stringMatching(/already received under workflow the-owner/) as unknown },
    });
    expect(await refundsAt('mwd', request.orderId)).toEqual([]);
  });

  it('a Reset of a succeeded MWD run to before its send does not send again (money-safety rule 5)', async () => {
    const request = await mwdRefund();
    const first = await run(request);
    const { client } = engine().temporal;
    const handle = client.workflow.getHandle(first.workflowId);
    const events = (await handle.fetchHistory()).events ?? [];
    const submit = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'submitMwdRefund');
    const taskBefore = events.slice(0, submit).findLast((e) => e.workflowTaskCompletedEventAttributes);
    const before = await refundRequests('mwd');
    const reset = await client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: first.workflowId },
      reason: 'test: an operator resets the run',
      workflowTaskFinishEventId: taskBefore?.eventId,
      requestId: randomUUID(),
    });
    const again = await (
      await engine().worker()
    ).runUntil(outcome(client.workflow.getHandle<typeof refundWorkflow>(first.workflowId, reset.runId ?? undefined)));
    expect(again).toMatchObject({ status: 'succeeded', providerReference: first.providerReference });
    expect((await refundRequests('mwd')) - before).toBe(0);
    expect(await refundsAt('mwd', request.orderId)).toHaveLength(1);
  });

  it('MWD: an answer recorded by an attempt whose completion was lost is not sent again (found by the chaos run)', async () => {
    const request = await mwdRefund();
    const before = await refundRequests('mwd');
    // The attempt gets MWD's success and writes it to the ledger, then its process dies before the
    // result reaches Temporal: the activity is attempted again.
    const { ledger } = engine();
    let died = false;
    const dying = Object.create(ledger) as RefundLedger;
    dying.markAnswered = async (...args: Parameters<RefundLedger['markAnswered']>) => {
      const written = await ledger.markAnswered(...args);
      if (!died) {
        died = true;
        throw new Error('the worker died before reporting the answer');
      }
      return written;
    };
    const record = await run(request, { worker: await engine().worker({}, { ledger: dying }) });
    expect(died).toBe(true);
    // One send, counted once: the second attempt found the answer in the ledger and sent nothing.
    expect(record).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await refundRequests('mwd')) - before).toBe(1);
    const done = await refundsAt('mwd', request.orderId);
    expect(done).toHaveLength(1);
    expect(record.providerReference).toBe(done[0]?.providerReference);
  });

  it('MWD: a send left unanswered by a terminated run stops the next run from sending (rule 2 across runs)', async () => {
    const request = await mwdRefund();
    const before = await refundRequests('mwd');
    await faults('mwd', { refund: { next: ['hang'] } });
    const worker = await engine().worker();
    await worker.runUntil(async () => {
      const handle = await start(request);
      await expect.poll(() => refundRequests('mwd'), { interval: 20 }).toBe(before + 1);
      await handle.terminate('test: the run is stopped while its send is unanswered');
      const { runId } = await handle.describe();
      const second = await start(request);
      const record = await outcome(second);
      expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'MwdOutcomeUnknown' } });
      expect(record.error?.message).toContain(`attempt 1 of run ${runId}`);
    });
    expect((await refundRequests('mwd')) - before).toBe(1);
  });
});

describe('approval, rejection and cancellation', () => {
  // Updates sent here carry no proof: the embedded dev mode's worker takes them, as unverified
  // (signed decisions and their refusals: test/api/refunds.test.ts).
  const approval = { APPROVAL_THRESHOLD: '1000', ALLOW_UNSIGNED_DECISIONS: 'true' };
  const unverified = 'someone with access to Temporal (unverified)';

  it('an update needs no argument; a malformed one is refused before it is accepted', async () => {
    const request = await oenRefund();
    await (
      await engine().worker(approval)
    ).runUntil(async () => {
      const handle = await start(request);
      await expect.poll(async () => (await handle.query(statusQuery)).status).toBe('awaiting_approval');
      await expect(handle.executeUpdate('reject', { args: [{ by: 42 }] })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/^cannot reject: by /) as unknown },
      });
      await handle.executeUpdate('reject', { args: [] });
      expect(await outcome(handle)).toMatchObject({ status: 'cancelled', error: { code: 'Rejected', message: `rejected by ${unverified}` } });
    });
  });

  it('two operators deciding at once: one decision wins, the other is refused', async () => {
    const request = await oenRefund();
    await (
      await engine().worker(approval)
    ).runUntil(async () => {
      const handle = await start(request);
      await expect.poll(async () => (await handle.query(statusQuery)).status).toBe('awaiting_approval');
      const answers = await Promise.allSettled([handle.executeUpdate(approveUpdate, { args: [{}] }), handle.executeUpdate(rejectUpdate, { args: [{}] })]);
      expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
      const won = answers[0].status === 'fulfilled' ? 'succeeded' : 'cancelled';
      expect(await outcome(handle)).toMatchObject({ status: won });
    });
  });

  it('at or above the threshold, waits for approve, then refunds', async () => {
    const request = await oenRefund();
    const worker = await engine().worker(approval);
    await worker.runUntil(async () => {
      const handle = await start(request);
      await expect.poll(async () => (await handle.query(statusQuery)).status).toBe('awaiting_approval');
      expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
      const afterApprove = await handle.executeUpdate(approveUpdate, { args: [{}] });
      expect(afterApprove.status).not.toBe('awaiting_approval');
      expect(await outcome(handle)).toMatchObject({ status: 'succeeded' });
      await recordHistory('refundWorkflow.approved', handle);
    });
    expect(await refundsAt('oen', request.transactionHid)).toHaveLength(1);
  });

  it('below the threshold, does not wait', async () => {
    const request = await oenRefund({ amount: 999 });
    expect(await run(request, { worker: await engine().worker(approval) })).toMatchObject({ status: 'succeeded' });
  });

  it('reject ends it cancelled with the reason, and nothing is refunded', async () => {
    const request = await oenRefund();
    const worker = await engine().worker(approval);
    await worker.runUntil(async () => {
      const handle = await start(request);
      await expect.poll(async () => (await handle.query(statusQuery)).status).toBe('awaiting_approval');
      await handle.executeUpdate(rejectUpdate, { args: [{ reason: 'duplicate request' }] });
      expect(await outcome(handle)).toMatchObject({
        status: 'cancelled',
        error: { code: 'Rejected', message: `rejected by ${unverified}: duplicate request` },
      });
      await recordHistory('refundWorkflow.rejected', handle);
    });
    expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
  });

  it('cancel works before submission, and is refused after it', async () => {
    const request = await oenRefund();
    const worker = await engine().worker(approval);
    await worker.runUntil(async () => {
      const handle = await start(request);
      await expect.poll(async () => (await handle.query(statusQuery)).status).toBe('awaiting_approval');
      // The provider takes its time, so the run is still submitting when the cancel arrives.
      await faults('oen', { refund: { latencyMs: 1_500 } });
      await handle.executeUpdate(approveUpdate, { args: [{}] });
      expect((await handle.query(statusQuery)).status).toBe('submitting');
      await expect(handle.executeUpdate(cancelUpdate, { args: [{}] })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/too late to cancel: the refund is submitting/) as unknown },
      });
      expect(await outcome(handle)).toMatchObject({ status: 'succeeded' });
    });

    const cancelMe = await oenRefund();
    await (
      await engine().worker(approval)
    ).runUntil(async () => {
      const handle = await start(cancelMe);
      await expect.poll(async () => (await handle.query(statusQuery)).status).toBe('awaiting_approval');
      await expect(handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer changed mind' }] })).resolves.toMatchObject({ status: 'cancelled' });
      expect(await outcome(handle)).toMatchObject({ status: 'cancelled', error: { code: 'Cancelled' } });
      await expect(handle.executeUpdate(approveUpdate, { args: [{}] })).rejects.toThrow(/already completed/);
    });
    expect(await refundsAt('oen', cancelMe.transactionHid)).toEqual([]);
  });

  it('a cancel sent while no worker has picked the run up is checked once it has its policy: a signed one cancels, nothing sent; a forged one is refused and the refund goes on', async () => {
    const signingKey = newSigningKey();
    const actor = { id: 'key:otto', name: 'otto', role: 'operator', via: 'api-key' } as const;
    const cancelWith = async (handle: WorkflowHandle<typeof refundWorkflow>, refundId: string, key: string) => {
      const { runId } = await handle.describe();
      const proof = signDecision({ action: 'cancel', refundId, runId, actor, requestId: 'r-1', issuedAt: Date.now() }, 'customer withdrew', key);
      // Settled either way, so that neither answer is left unhandled while the other is awaited.
      return handle.executeUpdate(cancelUpdate, { args: [{ refundId, reason: 'customer withdrew', proof }] }).then(
        (progress) => ({ progress }),
        (err: unknown) => ({ err }),
      );
    };

    // No worker yet: the update waits with the start, and reaches the run before it has opened the refund.
    const kept = await oenRefund({ amount: 999 });
    const keptHandle = await start(kept);
    const keptCancel = cancelWith(keptHandle, kept.refundId, signingKey);
    const forged = await oenRefund({ amount: 999 });
    const forgedHandle = await start(forged);
    const forgedCancel = cancelWith(forgedHandle, forged.refundId, newSigningKey());
    await (
      await engine().worker({ OPERATOR_SIGNING_KEY: signingKey })
    ).runUntil(async () => {
      expect(await keptCancel).toMatchObject({ progress: { status: 'cancelled' } });
      expect(await outcome(keptHandle)).toMatchObject({
        status: 'cancelled',
        error: { code: 'Cancelled', message: 'cancelled by otto (operator, key:otto): customer withdrew' },
        decisions: [{ action: 'cancel', by: { id: 'key:otto', role: 'operator' }, verified: true }],
      });
      expect(await forgedCancel).toMatchObject({
        err: { cause: { message: expect.stringMatching(/^cannot cancel: the proof is not signed by a key this worker trusts/) as unknown } },
      });
      expect(await outcome(forgedHandle)).toMatchObject({ status: 'succeeded' });
    });
    expect(await refundsAt('oen', kept.transactionHid)).toEqual([]);
    expect(await refundsAt('oen', forged.transactionHid)).toHaveLength(1);
  });

  it('a Temporal Cancel sent while no worker has picked the run up ends it cancelled, nothing sent: the run does not claim the refund as it opens', async () => {
    const request = await oenRefund({ amount: 999 });
    const handle = await start(request);
    await handle.cancel();
    await (
      await engine().worker()
    ).runUntil(async () => {
      expect(await outcome(handle)).toMatchObject({ status: 'cancelled', error: { code: 'CancelRequested' } });
    });
    expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
  });

  it('with no decision before the deadline, ends cancelled', async () => {
    const request = await oenRefund();
    const worker = await engine().worker({ ...approval, APPROVAL_TIMEOUT_SECONDS: '2' });
    expect(await run(request, { worker, history: 'approval-deadline' })).toMatchObject({
      status: 'cancelled',
      error: { code: 'ApprovalTimeout', message: 'not approved within 2 seconds' },
    });
    expect(await refundsAt('oen', request.transactionHid)).toEqual([]);
  });
});
