import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';

import { exitCodes } from '../../src/cli/exit-codes.js';
import { startRefund } from '../../src/client/refunds.js';
import { reconcileScheduleId, type ReconcileReport } from '../../src/domain/reconcile.js';
import { refundWorkflowId } from '../../src/domain/refund-start.js';
import type { OenRefundRequested, RefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { ReconciliationLedger } from '../../src/ledger/reconciliation.js';
import { ResolutionLedger } from '../../src/ledger/resolution.js';
import type { reconcileWorkflow } from '../../src/workflows/reconcile.js';
import { useEngine, useWorkerWithOutcomes, outcomesDelivered } from '../helpers/engine.js';
import { startAccepted, throughInbox } from '../helpers/inbox.js';
import { recordHistory } from '../helpers/histories.js';
import { admin, sandboxRefunds, seededOenRefund } from '../helpers/sandbox.js';

const engine = useEngine('reconcile');

const receiver = useWorkerWithOutcomes(engine);

beforeEach(async () => {
  await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', {});
});

async function faults(body: unknown): Promise<void> {
  await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', body);
}

async function refund(request: OenRefundRequested): Promise<RefundRecord> {
  const { client, taskQueue } = engine().temporal;
  const started = await startAccepted(client, taskQueue, engine().db, request);
  return client.workflow.getHandle(started.workflowId).result() as Promise<RefundRecord>;
}

async function reconcile(policy: { resubmit?: boolean; submittingAfterSeconds?: number } = {}, history?: string): Promise<ReconcileReport> {
  const { client, taskQueue } = engine().temporal;
  const handle = await client.workflow.start<typeof reconcileWorkflow>('reconcileWorkflow', {
    taskQueue,
    workflowId: `reconcile-${randomUUID()}`,
    args: [{ policy }],
  });
  const report = await handle.result();
  if (history) await recordHistory(`reconcileWorkflow.${history}`, handle);
  return report;
}

/** A refund the ledger holds in `submitting`, untouched `since` ago (an interval, e.g. '2 hours'), with no run of its own. */
async function inSubmitting(request: RefundRequested, { since }: { since?: string } = {}): Promise<void> {
  const { ledger, db } = engine();
  await ledger.open(request, refundWorkflowId(request));
  await ledger.transition(request.refundId, 'submitting');
  if (since) await db.query(`UPDATE refunds SET updated_at = now() - $2::interval WHERE refund_id = $1`, [request.refundId, since]);
}

/** A refund the provider kept answering HTTP 500 until the retry window ran out: requires_attention, nothing refunded. */
async function refundThatRanOutOfRetries(): Promise<OenRefundRequested> {
  const request = await seededOenRefund(engine().sandboxes.oenUrl, { reason: '客戶取消訂單' });
  await throughInbox(engine().db, request);
  await faults({ refund: { http500: 1 } });
  const record = await refund(request);
  expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
  await faults({});
  return request;
}

async function refundsOf(transactionHid: string) {
  return (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === transactionHid);
}

/** How many times Oen was asked for this order's transactions. */
async function listsOf(orderId: string): Promise<number> {
  const { timeline } = await admin<{ timeline: Array<{ path: string }> }>(engine().sandboxes.oenUrl, 'GET', 'timeline');
  return timeline.filter((entry) => entry.path.includes(`/order/${encodeURIComponent(orderId)}/transactions`)).length;
}

/** The outcome events order management was sent for the refund, once the relay has sent every one the ledger holds. */
const outcomesOf = async (refundId: string) => {
  await outcomesDelivered(engine().db);
  return receiver()
    .deliveries.filter((d) => d.refundId === refundId)
    .map((d) => d.type);
};

describe('reconcileWorkflow', () => {
  it('resolves a refund that ran out of retries while Oen answered 500, once Oen is back: exactly one refund at Oen', async () => {
    const request = await refundThatRanOutOfRetries();
    expect(await refundsOf(request.transactionHid)).toEqual([]);

    const report = await reconcile({ resubmit: true }, 'resubmitted');

    const change = report.changed.find((c) => c.refundId === request.refundId);
    expect(change).toMatchObject({ outcome: 'resubmitted', from: 'requires_attention', to: 'succeeded' });
    expect(change?.evidence).toMatch(/status "charged".*nothing refunded/);
    expect(report.counts.resubmitted).toBeGreaterThanOrEqual(1);
    const refunds = await refundsOf(request.transactionHid);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount: 1000 });
    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'succeeded', providerReference: request.transactionHid });
    expect(record?.error).toBeUndefined();
    // Order management hears of both: first requires_attention, now succeeded.
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention', 'refund.succeeded']);
    // The report is kept in the ledger.
    const stored = await new ReconciliationLedger(engine().db).reports(20);
    expect(stored.find((r) => r.runId === report.runId)?.counts).toEqual(report.counts);

    // The next run confirms it like any recent success (one list, nothing sent); the one after leaves it be.
    const listsBefore = await listsOf(request.orderId);
    const next = await reconcile({ resubmit: true });
    expect(next.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    expect(next.counts.confirmed).toBeGreaterThanOrEqual(1);
    expect(await listsOf(request.orderId)).toBe(listsBefore + 1);
    await reconcile({ resubmit: true });
    expect(await listsOf(request.orderId)).toBe(listsBefore + 1);
    expect(await refundsOf(request.transactionHid)).toHaveLength(1);
    expect(await outcomesOf(request.refundId)).toHaveLength(2);
  });

  it('a refund sent again without a success is not sent again by a later run', async () => {
    const request = await refundThatRanOutOfRetries();
    await faults({ refund: { http500: 1 } });
    const first = await reconcile({ resubmit: true });
    expect(first.changed.find((c) => c.refundId === request.refundId)).toMatchObject({ outcome: 'resubmit_unresolved', to: 'requires_attention' });
    await faults({});
    const second = await reconcile({ resubmit: true });
    expect(second.notes.find((n) => n.refundId === request.refundId)?.evidence).toMatch(/sent it again once already/);
    expect((await engine().ledger.get(request.refundId))?.status).toBe('requires_attention');
    expect(await refundsOf(request.transactionHid)).toEqual([]);
  });

  it('with resubmission off, a refund Oen shows still charged is left for a person, and nothing is sent', async () => {
    const request = await refundThatRanOutOfRetries();
    const report = await reconcile({ resubmit: false });
    expect(report.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    expect(report.notes.find((n) => n.refundId === request.refundId)).toMatchObject({ outcome: 'left_for_person', status: 'requires_attention' });
    expect(report.counts.left_for_person).toBeGreaterThanOrEqual(1);
    expect(await refundsOf(request.transactionHid)).toEqual([]);
    expect((await engine().ledger.get(request.refundId))?.status).toBe('requires_attention');
  });

  it('a refund Oen shows refunded (its answer was lost) becomes succeeded without a second refund', async () => {
    const request = await seededOenRefund(engine().sandboxes.oenUrl);
    await faults({ refund: { http500: 1 } });
    expect(await refund(request)).toMatchObject({ status: 'requires_attention' });
    // Meanwhile Oen did refund it (a person in Oen's back office, or a lost answer).
    await faults({});
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', {
      transactions: [{ id: request.transactionHid, orderId: request.orderId, amount: 1000, status: 'refunded', refundAmount: 1000 }],
    });
    const report = await reconcile({ resubmit: true });
    expect(report.changed.find((c) => c.refundId === request.refundId)).toMatchObject({ outcome: 'resolved', to: 'succeeded' });
    expect(await refundsOf(request.transactionHid)).toEqual([]);
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'succeeded', providerReference: request.transactionHid });
  });

  it('a refund that succeeded in its own run is confirmed once, then not asked about again', async () => {
    const request = await seededOenRefund(engine().sandboxes.oenUrl);
    expect(await refund(request)).toMatchObject({ status: 'succeeded' });
    const before = await listsOf(request.orderId);
    const first = await reconcile();
    expect(first.counts.confirmed).toBeGreaterThanOrEqual(1);
    expect(first.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    const lists = await listsOf(request.orderId);
    expect(lists).toBe(before + 1);
    await reconcile();
    expect(await listsOf(request.orderId)).toBe(lists);
    expect(await refundsOf(request.transactionHid)).toHaveLength(1);
  });

  it("a refund in requires_attention that Oen shows in a state nobody can explain keeps Oen's evidence on the record", async () => {
    const request = await seededOenRefund(engine().sandboxes.oenUrl);
    await faults({ refund: { http500: 1 } });
    expect(await refund(request)).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
    await faults({});
    // Someone refunded part of it in Oen's back office.
    await admin(engine().sandboxes.oenUrl, 'POST', 'seed', {
      transactions: [{ id: request.transactionHid, orderId: request.orderId, amount: 1000, status: 'refunded', refundAmount: 400 }],
    });

    const report = await reconcile({ resubmit: true });

    expect(report.notes.find((n) => n.refundId === request.refundId)).toMatchObject({ outcome: 'unexplained', status: 'requires_attention' });
    expect(report.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    const record = await engine().ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'OenStateUnexplained' } });
    expect(record?.error?.message).toMatch(
      /^Oen shows NT\$400 refunded on .*; first handed to a person as OenHttp500: The provider kept failing for \d+ s, so nothing more is sent until a person settles this refund/,
    );
    expect(await outcomesOf(request.refundId)).toEqual(['refund.requires_attention']);
    expect(await refundsOf(request.transactionHid)).toEqual([]);
    // The next run finds the same: the record is not written again.
    await reconcile({ resubmit: true });
    expect((await engine().ledger.get(request.refundId))?.updatedAt).toBe(record?.updatedAt);
  });

  it('a succeeded refund Oen does not show refunded becomes requires_attention, counted as a mismatch', async () => {
    const request = await seededOenRefund(engine().sandboxes.oenUrl);
    const ledger = engine().ledger;
    // The ledger says succeeded; Oen's record says the transaction is still charged.
    await inSubmitting(request);
    await ledger.transition(request.refundId, 'succeeded', { providerReference: request.transactionHid });

    const report = await reconcile({ resubmit: true }, 'mismatch');

    expect(report.counts.mismatch).toBeGreaterThanOrEqual(1);
    const change = report.changed.find((c) => c.refundId === request.refundId);
    expect(change).toMatchObject({ outcome: 'mismatch', from: 'succeeded', to: 'requires_attention' });
    const record = await ledger.get(request.refundId);
    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'ReconcileMismatch' } });
    expect(record?.error?.message).toMatch(/ledger recorded this refund as succeeded, but Oen lists .* status "charged"/);
    // Order management heard it succeeded (its run's end, here written straight to the ledger), then that a person must look.
    expect(await outcomesOf(request.refundId)).toEqual(['refund.succeeded', 'refund.requires_attention']);
    // Reconciliation never sends for a mismatch, even with resubmission on, on this run or a later one.
    expect(await refundsOf(request.transactionHid)).toEqual([]);
    const next = await reconcile({ resubmit: true });
    expect(next.notes.find((n) => n.refundId === request.refundId)).toMatchObject({ outcome: 'left_for_person', status: 'requires_attention' });
    expect(next.notes.find((n) => n.refundId === request.refundId)?.evidence).toMatch(/a mismatch/);
    expect(await refundsOf(request.transactionHid)).toEqual([]);
    expect(await ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'ReconcileMismatch' } });
    expect(await outcomesOf(request.refundId)).toEqual(['refund.succeeded', 'refund.requires_attention']);
  });

  it('a recent failed refund Oen shows refunded after all goes to a person (FailedButRefunded), counted as a mismatch; one still charged, or followed by a later refund, is left as it is', async () => {
    const { ledger } = engine();
    const failed = async (request: OenRefundRequested) => {
      await inSubmitting(request);
      await ledger.transition(request.refundId, 'failed', { error: { code: 'OenT0001', message: 'the transaction failed' } });
    };
    // Oen refused, then carried the refund out late: Oen lists it refunded, the ledger says failed.
    const late = await seededOenRefund(engine().sandboxes.oenUrl, {}, { status: 'refunded', refundAmount: 1000 });
    await failed(late);
    const charged = await seededOenRefund(engine().sandboxes.oenUrl);
    await failed(charged);
    // Asked again under a new refund id, which succeeded: Oen's refund is that one's, not the failed one's.
    const followed = await seededOenRefund(engine().sandboxes.oenUrl, {}, { status: 'refunded', refundAmount: 1000 });
    await failed(followed);
    const again = { ...followed, refundId: `RF-${randomUUID()}` };
    await inSubmitting(again);
    await ledger.transition(again.refundId, 'succeeded', { providerReference: again.transactionHid });

    const report = await reconcile({ resubmit: true });

    expect(report.changed.find((c) => c.refundId === late.refundId)).toMatchObject({ outcome: 'mismatch', from: 'failed', to: 'requires_attention' });
    expect(report.counts.mismatch).toBeGreaterThanOrEqual(1);
    const record = await ledger.get(late.refundId);
    expect(record).toMatchObject({ status: 'requires_attention', error: { code: 'FailedButRefunded' } });
    expect(record?.error?.message).toMatch(/ledger recorded this refund as failed \(OenT0001\), but Oen lists .* refunded/);
    expect(await outcomesOf(late.refundId)).toEqual(['refund.failed', 'refund.requires_attention']);
    for (const left of [charged, followed]) {
      expect(report.changed.find((c) => c.refundId === left.refundId)).toBeUndefined();
      expect(await ledger.get(left.refundId)).toMatchObject({ status: 'failed', error: { code: 'OenT0001' } });
    }
    expect(report.notes.find((n) => n.refundId === followed.refundId)).toBeUndefined();

    // A later run leaves it with the person, though Oen shows it refunded: order management was told it failed.
    const next = await reconcile({ resubmit: true });
    expect(next.notes.find((n) => n.refundId === late.refundId)).toMatchObject({ outcome: 'left_for_person', status: 'requires_attention' });
    expect(await ledger.get(late.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'FailedButRefunded' } });
    expect(await outcomesOf(late.refundId)).toEqual(['refund.failed', 'refund.requires_attention']);
    expect(await refundsOf(late.transactionHid)).toEqual([]);
    expect(await refundsOf(charged.transactionHid)).toEqual([]);
  });

  it("a refund stuck in submitting past the threshold is settled on Oen's evidence; a recent one is left to its run", async () => {
    const stuck = await seededOenRefund(engine().sandboxes.oenUrl);
    const ledger = engine().ledger;
    await inSubmitting(stuck, { since: '2 hours' });
    const recent = await seededOenRefund(engine().sandboxes.oenUrl);
    await inSubmitting(recent);

    const report = await reconcile({ resubmit: false, submittingAfterSeconds: 3600 });

    expect(report.changed.find((c) => c.refundId === stuck.refundId)).toMatchObject({
      outcome: 'left_for_person',
      from: 'submitting',
      to: 'requires_attention',
    });
    expect((await ledger.get(stuck.refundId))?.error?.code).toBe('OenNotRefunded');
    expect(report.changed.find((c) => c.refundId === recent.refundId)).toBeUndefined();
    expect(report.notes.find((n) => n.refundId === recent.refundId)).toBeUndefined();
    expect((await ledger.get(recent.refundId))?.status).toBe('submitting');
  });

  it('a refund long in submitting whose run is still open (queued behind a burst) is left to its run', async () => {
    const queued = await seededOenRefund(engine().sandboxes.oenUrl);
    const ledger = engine().ledger;
    await inSubmitting(queued, { since: '2 hours' });
    // Its run is open: on a task queue no worker polls, it waits as a run behind a long backlog would.
    const { client } = engine().temporal;
    const run = await client.workflow.start('refundWorkflow', { taskQueue: `nobody-${randomUUID()}`, workflowId: refundWorkflowId(queued), args: [queued] });
    try {
      const report = await reconcile({ resubmit: true, submittingAfterSeconds: 3600 });
      expect(report.notes.find((n) => n.refundId === queued.refundId)).toMatchObject({ outcome: 'still_running', status: 'submitting' });
      expect(report.counts.still_running).toBeGreaterThanOrEqual(1);
      expect((await ledger.get(queued.refundId))?.status).toBe('submitting');
      expect(await refundsOf(queued.transactionHid)).toEqual([]);
    } finally {
      await run.terminate('test over');
    }
  });

  it("a refund a resolution claimed is left to that run while it is open, though the refund's own run ended long ago", async () => {
    const request = await refundThatRanOutOfRetries();
    const { ledger, db } = engine();
    // Its own run's claim named that run.
    expect((await ledger.claimant(request.refundId))?.workflowId).toBe(refundWorkflowId(request));
    // The resolution's run, sending it again: open, on a task queue no worker polls (as one waiting for Oen's rate limit would be).
    const { client } = engine().temporal;
    const resolving = await client.workflow.start('resolveWorkflow', {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: `resolve:${request.refundId}`,
      args: [],
    });
    try {
      const before = await ledger.get(request.refundId);
      if (!before) throw new Error('no record');
      const decision = { action: 'resolve' as const, by: { id: 'key:operator-1', name: 'Operator One' }, verified: true, at: new Date().toISOString() };
      const claimant = { workflowId: resolving.workflowId, runId: resolving.firstExecutionRunId };
      expect(await new ResolutionLedger(db).moveAsDecided(before, 'submitting', { error: null, decisions: [decision] }, false, claimant)).toMatchObject({
        moved: true,
      });
      await db.query(`UPDATE refunds SET updated_at = now() - interval '2 hours' WHERE refund_id = $1`, [request.refundId]);

      const report = await reconcile({ resubmit: true, submittingAfterSeconds: 3600 });
      expect(report.notes.find((n) => n.refundId === request.refundId)).toMatchObject({ outcome: 'still_running', status: 'submitting' });
      expect(await ledger.get(request.refundId)).toMatchObject({ status: 'submitting' });
      expect(await refundsOf(request.transactionHid)).toEqual([]);
      expect(await ledger.claimant(request.refundId)).toEqual(claimant);
    } finally {
      await resolving.terminate('test over');
    }
    // Once that run is closed, reconciliation settles it on Oen's evidence (it was resolved: a person decides).
    const after = await reconcile({ resubmit: true, submittingAfterSeconds: 0 });
    expect(after.changed.find((c) => c.refundId === request.refundId)).toMatchObject({
      outcome: 'left_for_person',
      from: 'submitting',
      to: 'requires_attention',
    });
    expect(await refundsOf(request.transactionHid)).toEqual([]);
  });

  it('an Oen that cannot be asked changes nothing; MWD refunds in doubt are listed', async () => {
    const request = await refundThatRanOutOfRetries();
    const mwd = { refundId: `RF-${randomUUID()}`, provider: 'mwd' as const, orderId: `MWD-${randomUUID().slice(0, 8)}`, amount: 550, cardToken: 'tok' };
    const ledger = engine().ledger;
    await inSubmitting(mwd);
    await ledger.transition(mwd.refundId, 'requires_attention', { error: { code: 'MwdNoAnswer', message: 'sent, no answer' } });
    await faults({ listTransactions: { http500: 1 } });

    const report = await reconcile({ resubmit: true });

    expect(report.notes.find((n) => n.refundId === request.refundId)).toMatchObject({ outcome: 'provider_unreachable' });
    expect(report.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    expect((await ledger.get(request.refundId))?.status).toBe('requires_attention');
    expect(await refundsOf(request.transactionHid)).toEqual([]);
    expect(report.mwdUnresolved.find((m) => m.refundId === mwd.refundId)).toMatchObject({
      status: 'requires_attention',
      reason: 'MwdNoAnswer: sent, no answer',
    });
    expect(report.counts.mwd_unresolved).toBeGreaterThanOrEqual(1);
  });
});

describe('the reconciliation schedule', () => {
  const exec = promisify(execFile);
  const install = (every: string) =>
    exec(process.execPath, [
      'bin/refundflow.mjs',
      'schedule',
      'install',
      '--address',
      engine().temporal.address,
      '--task-queue',
      engine().temporal.taskQueue,
      '--every',
      every,
    ]);

  it('refundflow schedule install creates it on the cluster, installing again updates it, and what it starts reconciles', async () => {
    const { client, taskQueue } = engine().temporal;
    const scheduleId = reconcileScheduleId(taskQueue);
    const schedule = client.schedule.getHandle(scheduleId);
    try {
      expect((await install('120')).stdout).toContain(`created schedule ${scheduleId} on ${engine().temporal.address}`);
      expect((await install('300')).stdout).toMatch(new RegExp(`^updated schedule ${scheduleId} `, 'm'));
      const described = await schedule.describe();
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileWorkflow', taskQueue, workflowId: scheduleId });
      expect(described.spec.intervals?.map((i) => i.every)).toEqual([300_000]);

      await schedule.trigger();
      await expect.poll(async () => (await schedule.describe()).info.recentActions.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
      const [action] = (await schedule.describe()).info.recentActions;
      const run = client.workflow.getHandle(action?.action.workflow.workflowId ?? '', action?.action.workflow.firstExecutionRunId);
      const report = (await run.result()) as ReconcileReport;
      expect(report.workflowId.startsWith(`${scheduleId}-`)).toBe(true);
      expect(report.finishedAt).toBeDefined();
      expect(report.policy).toEqual({ submittingAfterSeconds: 3600, succeededWithinDays: 7, resubmit: false });
      expect((await run.describe()).status.name).toBe('COMPLETED');
    } finally {
      await schedule.delete().catch(() => undefined);
    }
  });

  it('says plainly when Temporal cannot be reached', async () => {
    const failed = await exec(process.execPath, ['bin/refundflow.mjs', 'schedule', 'install', '--address', '127.0.0.1:1']).catch(
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(failed).toMatchObject({ code: exitCodes.unreachable.code });
    expect((failed as { stderr: string }).stderr).toMatch(/^cannot reach Temporal at 127\.0\.0\.1:1 .*set --address or TEMPORAL_ADDRESS/m);
  });
});

describe('reconcileWorkflow and refunds whose run ended without settling them (terminated)', () => {
  const mwdRequest = async (): Promise<RefundRequested> => {
    const orderId = `TERM${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await admin(engine().sandboxes.mwdUrl, 'POST', 'seed', { orders: [{ orderId, cardToken: `tok-${orderId}`, amount: 550 }] });
    return { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 550, cardToken: `tok-${orderId}` };
  };
  const age = async (refundId: string) => engine().db.query(`UPDATE refunds SET updated_at = now() - interval '2 hours' WHERE refund_id = $1`, [refundId]);

  it('an MWD refund terminated with its send unanswered: requires_attention, told, and never sent again', async () => {
    const request = await mwdRequest();
    // MWD carries the refund out, then never answers: the run is terminated while it waits.
    await admin(engine().sandboxes.mwdUrl, 'PATCH', 'faults', { [`refund@${request.orderId}`]: { next: [{ commit: true, then: 'hang' }] } });
    const { client, taskQueue } = engine().temporal;
    const started = await startAccepted(client, taskQueue, engine().db, request);
    await expect.poll(async () => (await sandboxRefundsOf('mwd', request.orderId)).length, { timeout: 30_000, interval: 100 }).toBe(1);
    await client.workflow.getHandle(started.workflowId).terminate('an operator terminated it');
    await age(request.refundId);

    const report = await reconcile();
    expect(await engine().ledger.get(request.refundId)).toMatchObject({
      status: 'requires_attention',
      error: { code: 'MwdOutcomeUnknown', message: expect.stringContaining('was terminated through Temporal (person unknown)') as unknown },
    });
    // The termination is in the audit trail once, as done through Temporal by a person unknown, naming the run, however often it is looked at.
    await reconcile();
    const terminated = (await new AuditTrail(engine().db).list({ refundId: request.refundId, limit: 10 })).entries.filter(
      (e) => e.action === 'refund.terminate',
    );
    expect(terminated).toEqual([
      expect.objectContaining({
        actor: { id: 'temporal', name: 'through Temporal, person unknown' },
        outcome: 'done',
        detail: { via: 'a Temporal Terminate', workflowId: started.workflowId, runId: started.kind === 'started' ? started.runId : '' },
      }),
    ]);
    expect(report.changed.find((c) => c.refundId === request.refundId)).toMatchObject({ outcome: 'run_ended', from: 'submitting', to: 'requires_attention' });
    await expect.poll(() => outcomesOf(request.refundId), { timeout: 30_000 }).toEqual(['refund.requires_attention']);
    const { requests } = await admin<{ requests: Array<{ reference: string }> }>(engine().sandboxes.mwdUrl, 'GET', 'refund-requests');
    expect(requests.filter((r) => r.reference === request.orderId)).toHaveLength(1);
  }, 90_000);

  it('refunds whose run ended before sending are cancelled and told; an MWD one whose sends were all answered goes to a person; a recorded success succeeds', async () => {
    const { ledger } = engine();
    // No run of its own: terminated before it started, or long gone.
    const received = await seededOenRefund(engine().sandboxes.oenUrl);
    await ledger.open(received, refundWorkflowId(received));
    await age(received.refundId);
    const answered = await mwdRequest();
    await inSubmitting(answered, { since: '2 hours' });
    const recorded = await mwdRequest();
    await inSubmitting(recorded);
    await ledger.markSending(recorded.refundId, 'attempt 1 of run R');
    await ledger.markAnswered(recorded.refundId, 'attempt 1 of run R', 'MW2026112900000001');
    await age(recorded.refundId);

    const report = await reconcile({}, 'run-ended');
    expect(await ledger.get(received.refundId)).toMatchObject({ status: 'cancelled', error: { code: 'RunEnded' } });
    expect(await ledger.get(answered.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'RunEnded' } });
    expect(await ledger.get(recorded.refundId)).toMatchObject({ status: 'succeeded', providerReference: 'MW2026112900000001' });
    for (const r of [received, answered, recorded]) {
      expect(report.changed.find((c) => c.refundId === r.refundId)?.outcome).toBe('run_ended');
    }
    await expect.poll(() => outcomesOf(received.refundId), { timeout: 30_000 }).toEqual(['refund.cancelled']);
    await expect.poll(() => outcomesOf(recorded.refundId), { timeout: 30_000 }).toEqual(['refund.succeeded']);
    expect(await refundsOf(received.transactionHid)).toEqual([]);
  }, 90_000);

  it('leaves a refund whose run is still open to it', async () => {
    const request = await seededOenRefund(engine().sandboxes.oenUrl);
    const { client, taskQueue } = engine().temporal;
    // A run on a task queue no worker polls: open, not progressing (queued behind a burst).
    await startRefund(client, `${taskQueue}-idle`, request);
    await engine().ledger.open(request, refundWorkflowId(request));
    await age(request.refundId);
    const report = await reconcile();
    expect(report.changed.find((c) => c.refundId === request.refundId)).toBeUndefined();
    expect(report.counts.still_running).toBeGreaterThanOrEqual(1);
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'received' });
    await client.workflow.getHandle(refundWorkflowId(request)).terminate('test done');
  });
});

async function sandboxRefundsOf(provider: 'oen' | 'mwd', reference: string) {
  return (await sandboxRefunds(provider === 'oen' ? engine().sandboxes.oenUrl : engine().sandboxes.mwdUrl)).filter((r) => r.reference === reference);
}
