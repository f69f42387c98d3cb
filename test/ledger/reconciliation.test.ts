import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emptyCounts, evidenceError, type ReconcileReport } from '../../src/domain/reconcile.js';
import { codes } from '../../src/domain/failures.js';
import type { MwdRefundRequested, OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { Database } from '../../src/ledger/database.js';
import { ReconciliationLedger } from '../../src/ledger/reconciliation.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { freshDatabase, ledgerKinds, oenRequest } from '../helpers/databases.js';

const kinds = await ledgerKinds();
const mwd = (n: number): MwdRefundRequested => ({ refundId: `RF-MWD-${n}`, provider: 'mwd', orderId: `MWD-${n}`, amount: 550, cardToken: 'tok' });

describe.each(kinds)('the reconciliation ledger on %s', (kind) => {
  let db: Database;
  let refunds: RefundLedger;
  let reconciliation: ReconciliationLedger;
  const now = () => new Date();
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

  beforeAll(async () => {
    db = await freshDatabase(kind);
    refunds = new RefundLedger(db);
    reconciliation = new ReconciliationLedger(db);
  });
  beforeEach(async () => {
    await db.exec('TRUNCATE refunds, reconciliation_reports');
  });
  afterAll(async () => {
    await db.close();
  });

  async function inStatus(request: OenRefundRequested | MwdRefundRequested, path: Array<'submitting' | 'succeeded' | 'requires_attention' | 'failed'>) {
    await refunds.open(request, `wf-${request.refundId}`);
    for (const status of path) await refunds.transition(request.refundId, status, status === 'succeeded' ? { providerReference: 'ref' } : {});
    return (await refunds.get(request.refundId))!;
  }

  it('finds Oen refunds in requires_attention, stuck in submitting, recently succeeded and not yet confirmed, and recently failed and not asked again; in refund id order, a page at a time', async () => {
    await inStatus(oenRequest(1), ['submitting', 'requires_attention']);
    await inStatus(oenRequest(2), ['submitting']); // recent: still its run's
    await inStatus(oenRequest(3), ['submitting']);
    await db.query(`UPDATE refunds SET updated_at = now() - interval '2 hours' WHERE refund_id = 'RF-3'`);
    await inStatus(oenRequest(4), ['submitting', 'succeeded']);
    await inStatus(oenRequest(5), ['submitting', 'succeeded']);
    await db.query(`UPDATE refunds SET completed_at = now() - interval '10 days' WHERE refund_id = 'RF-5'`); // too old
    await inStatus(oenRequest(6), ['submitting', 'failed']);
    // Failed, then asked again under a new refund id: Oen's list would show that one's refund.
    await inStatus(oenRequest(7), ['submitting', 'failed']);
    await refunds.open({ ...oenRequest(7), refundId: 'RF-8' }, 'wf');
    await inStatus(oenRequest(9), ['submitting', 'failed']);
    await db.query(`UPDATE refunds SET completed_at = now() - interval '10 days' WHERE refund_id = 'RF-9'`); // too old
    await inStatus(mwd(1), ['submitting', 'requires_attention']);

    const filter = { submittingBefore: hoursAgo(1), succeededSince: new Date(Date.now() - 7 * 86_400_000), limit: 2 };
    const first = await reconciliation.oenCandidates(filter);
    expect(first.map((r) => r.refundId)).toEqual(['RF-1', 'RF-3']);
    const second = await reconciliation.oenCandidates({ ...filter, after: 'RF-3' });
    expect(second.map((r) => r.refundId)).toEqual(['RF-4', 'RF-6']);

    await reconciliation.markConfirmed(['RF-4']);
    expect((await reconciliation.oenCandidates({ ...filter, limit: 10 })).map((r) => r.refundId)).toEqual(['RF-1', 'RF-3', 'RF-6']);

    const unresolved = await reconciliation.mwdUnresolved({ submittingBefore: hoursAgo(1), limit: 10 });
    expect(unresolved.total).toBe(1);
    expect(unresolved.refunds.map((r) => r.refundId)).toEqual(['RF-MWD-1']);
  });

  it('takes a failed refund Oen shows refunded back to a person, unless a new refund of its transaction opened meanwhile', async () => {
    const late = await inStatus(oenRequest(1), ['submitting', 'failed']);
    const error = { code: codes.FailedButRefunded, message: 'Oen refunded it after all' };
    expect(await reconciliation.apply(late, 'requires_attention', { error })).toMatchObject({ changed: true, record: { status: 'requires_attention', error } });
    const raced = await inStatus(oenRequest(2), ['submitting', 'failed']);
    await refunds.open({ ...oenRequest(2), refundId: 'RF-2b' }, 'wf');
    // The database refuses a second holder of the transaction: the new refund's run owns it.
    expect(await reconciliation.apply(raced, 'requires_attention', { error })).toMatchObject({ changed: false, record: { status: 'failed' } });
  });

  it('moves a refund only if it is still as it was read; the same move made earlier answers changed', async () => {
    const read = await inStatus(oenRequest(1), ['submitting', 'requires_attention']);
    const applied = await reconciliation.apply(read, 'succeeded', { providerReference: 'P2026112900001', error: null });
    expect(applied).toMatchObject({ changed: true, record: { status: 'succeeded', providerReference: 'P2026112900001' } });
    expect(applied.record.error).toBeUndefined();
    expect(applied.record.completedAt).toBeDefined();
    // An activity retry with the same read: the move is already made.
    expect(await reconciliation.apply(read, 'succeeded', { providerReference: 'P2026112900001', error: null })).toMatchObject({ changed: true });
    // A confirmed success is not looked at again.
    expect(await reconciliation.oenCandidates({ submittingBefore: now(), succeededSince: hoursAgo(1), limit: 10 })).toEqual([]);

    // Its own run moved it meanwhile: left alone.
    const stale = await inStatus(oenRequest(2), ['submitting']);
    await refunds.transition('RF-2', 'succeeded', { providerReference: 'x' });
    const refused = await reconciliation.apply(stale, 'requires_attention', { error: { code: 'OenNotRefunded', message: 'm' } });
    expect(refused).toMatchObject({ changed: false, record: { status: 'succeeded' } });
  });

  it('a mismatch takes a succeeded refund back to requires_attention; a resubmission claims one from requires_attention; nothing else', async () => {
    const succeeded = await inStatus(oenRequest(1), ['submitting', 'succeeded']);
    const mismatch = await reconciliation.apply(succeeded, 'requires_attention', { error: { code: 'ReconcileMismatch', message: 'Oen shows it charged' } });
    expect(mismatch).toMatchObject({ changed: true, record: { status: 'requires_attention', error: { code: 'ReconcileMismatch' } } });
    expect(mismatch.record.completedAt).toBeUndefined();
    expect(mismatch.record.providerReference).toBe('ref');
    const claim = await reconciliation.apply(mismatch.record, 'submitting', { error: null });
    expect(claim).toMatchObject({ changed: true, record: { status: 'submitting' } });
    // The reference the mismatch left is no success to rely on: the send checks Oen afresh.
    expect(claim.record.providerReference).toBeUndefined();
    expect(await reconciliation.resubmits('RF-1')).toBe(1);
    // A second claim with the same read (another reconciliation run) gets nothing.
    const second = await reconciliation.apply(mismatch.record, 'submitting', { error: null });
    expect(second).toMatchObject({ changed: false, record: { status: 'submitting', updatedAt: claim.record.updatedAt } });
    await expect(reconciliation.apply(claim.record, 'failed')).rejects.toThrow(/does not move a refund from submitting to failed/);
    // Sent again without a success, it is back with a person: it is never claimed to be sent again twice.
    const back = await refunds.transition('RF-1', 'requires_attention', { error: { code: 'OenHttp500', message: 'still failing' } });
    expect(await reconciliation.apply(back, 'submitting', { error: null })).toMatchObject({ changed: false, record: { status: 'requires_attention' } });
    await expect(reconciliation.apply({ ...claim.record, status: 'failed' }, 'succeeded')).rejects.toThrow(/from failed/);
  });

  it('puts evidence on a refund left in requires_attention once, and only while it is as read', async () => {
    const read = await inStatus(oenRequest(1), ['submitting', 'requires_attention']);
    const error = { code: 'OenStateUnexplained', message: 'Oen shows NT$400 refunded' };
    expect(await reconciliation.attachEvidence(read, error)).toBe(true);
    const after = (await refunds.get('RF-1'))!;
    expect(after.error).toEqual(error);
    expect(await reconciliation.attachEvidence(after, error)).toBe(false); // says the same already
    expect(await reconciliation.attachEvidence(read, { ...error, message: 'other' })).toBe(false); // no longer as read
  });

  it('"still as read" sees a write that landed in the same millisecond as the read', async () => {
    const read = await inStatus(oenRequest(1), ['submitting', 'requires_attention']);
    // Another writer changes the row and its last update keeps the very same millisecond.
    await db.query(`UPDATE refunds SET error_message = 'written by its own run', updated_at = $2 WHERE refund_id = $1`, ['RF-1', read.updatedAt]);
    expect((await refunds.get('RF-1'))?.updatedAt).toBe(read.updatedAt);
    expect(await reconciliation.apply(read, 'succeeded', { error: null })).toMatchObject({ changed: false, record: { status: 'requires_attention' } });
    expect(await reconciliation.attachEvidence(read, { code: 'OenStateUnexplained', message: 'x' })).toBe(false);
    // A record read before versions were kept (no version) still compares the millisecond.
    const current = (await refunds.get('RF-1'))!;
    expect(
      await reconciliation.attachEvidence({ refundId: current.refundId, updatedAt: current.updatedAt }, { code: 'OenStateUnexplained', message: 'x' }),
    ).toBe(true);
  });

  it('keeps reports, newest first', async () => {
    const report = (runId: string, finishedAt: string): ReconcileReport => ({
      workflowId: 'refundflow-reconcile',
      runId,
      startedAt: finishedAt,
      finishedAt,
      policy: { submittingAfterSeconds: 3600, succeededWithinDays: 7, resubmit: false },
      examined: 1,
      counts: { ...emptyCounts(), confirmed: 1 },
      changed: [],
      notes: [],
      mwdUnresolved: [],
    });
    await reconciliation.saveReport(report('run-1', '2026-11-29T08:00:00.000Z'));
    await reconciliation.saveReport(report('run-2', '2026-11-29T08:15:00.000Z'));
    await reconciliation.saveReport(report('run-1', '2026-11-29T08:00:00.000Z'));
    const kept = await reconciliation.reports(10);
    expect(kept.map((r) => r.runId)).toEqual(['run-2', 'run-1']);
    expect(kept[0]?.counts.confirmed).toBe(1);
  });
});

describe('evidenceError', () => {
  it("puts Oen's evidence first and keeps the first reason once, however many runs attach evidence", () => {
    const first = evidenceError('Oen shows NT$400 refunded', { code: 'OenHttp500', message: 'still failed' });
    expect(first).toEqual({ code: 'OenStateUnexplained', message: 'Oen shows NT$400 refunded; first handed to a person as OenHttp500: still failed' });
    expect(evidenceError('Oen shows NT$300 refunded', first)).toEqual({
      code: 'OenStateUnexplained',
      message: 'Oen shows NT$300 refunded; first handed to a person as OenHttp500: still failed',
    });
    expect(evidenceError('x', { code: 'OenStateUnexplained', message: 'y' })).toEqual({ code: 'OenStateUnexplained', message: 'x' });
    expect(evidenceError('x', undefined)).toEqual({ code: 'OenStateUnexplained', message: 'x' });
  });
});
