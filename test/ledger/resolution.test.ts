import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/domain/operator.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { ReconciliationLedger } from '../../src/ledger/reconciliation.js';
import { LedgerError, RefundLedger } from '../../src/ledger/refunds.js';
import { ResolutionLedger } from '../../src/ledger/resolution.js';
import { postgresAvailable, useFreshDatabase, type DatabaseKind } from '../helpers/databases.js';

const kinds: DatabaseKind[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];

const oen = (n: number): OenRefundRequested => ({
  refundId: `RF-${n}`,
  provider: 'oen',
  orderId: `ORDER-${n}`,
  transactionHid: `P2026112900000${n}`,
  amount: 1000,
});
const decision = (at: string, evidence = 'Oen lists it refunded'): DecisionRecord => ({
  action: 'resolve',
  by: { id: 'key:ann', name: 'ann', role: 'operator' },
  verified: true,
  at,
  reason: 'as succeeded (reference P20261129000001)',
  evidence,
});

describe.each(kinds)('the resolution ledger on %s', (kind) => {
  const database = useFreshDatabase(kind, 'refunds');
  const refunds = () => new RefundLedger(database());
  const resolution = () => new ResolutionLedger(database());

  async function needingAPerson(n: number) {
    const request = oen(n);
    await refunds().open(request, `wf-${request.refundId}`);
    await refunds().transition(request.refundId, 'submitting');
    return refunds().transition(request.refundId, 'requires_attention', { error: { code: 'OenHttp500', message: 'still failing' } });
  }
  const confirmedAt = async (refundId: string) =>
    (await database().query<{ confirmed_at: Date | null }>('SELECT confirmed_at FROM refunds WHERE refund_id = $1', [refundId])).rows[0]?.confirmed_at;

  it('settles a refund in requires_attention with the decision and its evidence; Oen’s word confirms it; an attempt again changes nothing', async () => {
    const read = await needingAPerson(1);
    const fields = { providerReference: 'P20261129000001', error: null, decisions: [decision('2026-11-29T08:00:00.000Z')] };
    const settled = await resolution().moveAsDecided(read, 'succeeded', fields, true);
    expect(settled).toMatchObject({ moved: true, record: { status: 'succeeded', providerReference: 'P20261129000001', decisions: fields.decisions } });
    expect(settled.record.error).toBeUndefined();
    expect(settled.record.completedAt).toBeDefined();
    expect(await confirmedAt('RF-1')).toBeInstanceOf(Date);
    // The step's local activity retried after its answer was lost: the same decision is already the row's last.
    expect(await resolution().moveAsDecided(read, 'succeeded', fields, true)).toMatchObject({ moved: true, record: { status: 'succeeded' } });
    expect((await refunds().get('RF-1'))?.decisions).toHaveLength(1);
    // Another person's decision on the same read is not taken.
    expect(await resolution().moveAsDecided(read, 'failed', { error: null, decisions: [decision('2026-11-29T08:01:00.000Z')] })).toMatchObject({
      moved: false,
      record: { status: 'succeeded' },
    });
  });

  it('moves nothing that changed since it was read (reconciliation wrote evidence, or settled it)', async () => {
    const read = await needingAPerson(1);
    await new ReconciliationLedger(database()).attachEvidence(read, { code: 'OenStateUnexplained', message: 'Oen shows NT$400 refunded' });
    const refused = await resolution().moveAsDecided(read, 'failed', {
      error: { code: 'ResolvedFailed', message: 'm' },
      decisions: [decision('2026-11-29T08:00:00.000Z')],
    });
    expect(refused).toMatchObject({ moved: false, record: { status: 'requires_attention', error: { code: 'OenStateUnexplained' } } });
    expect((await refunds().get('RF-1'))?.decisions).toBeUndefined();
    // A person's settlement of an MWD refund leaves confirmed_at alone: nobody asked the provider.
    const again = (await refunds().get('RF-1'))!;
    expect(
      await resolution().moveAsDecided(again, 'failed', { error: { code: 'ResolvedFailed', message: 'm' }, decisions: [decision('2026-11-29T08:02:00.000Z')] }),
    ).toMatchObject({
      moved: true,
      record: { status: 'failed', error: { code: 'ResolvedFailed' } },
    });
    expect(await confirmedAt('RF-1')).toBeNull();
  });

  it('a retry claims the refund (a new retry window, no reference to rely on, not counted as reconciliation’s), and its end is recorded once', async () => {
    await needingAPerson(1);
    await database().query(`UPDATE refunds SET provider_reference = 'left by a mismatch', retrying_since = now() - interval '1 hour' WHERE refund_id = 'RF-1'`);
    const read = (await refunds().get('RF-1'))!;
    const claimed = await resolution().moveAsDecided(read, 'submitting', {
      error: null,
      decisions: [decision('2026-11-29T08:00:00.000Z', 'Oen lists it charged')],
    });
    expect(claimed).toMatchObject({ moved: true, record: { status: 'submitting' } });
    expect(claimed.record.providerReference).toBeUndefined();
    expect(claimed.record.error).toBeUndefined();
    expect(await refunds().noteTransientFailure('RF-1')).toBeLessThan(60_000);
    expect(await new ReconciliationLedger(database()).resubmits('RF-1')).toBe(0);

    const ended = await resolution().settle('RF-1', 'requires_attention', { error: { code: 'OenHttp500', message: 'still failing' } });
    expect(ended).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' }, decisions: [{ action: 'resolve' }] });
    expect(await resolution().settle('RF-1', 'requires_attention', {})).toMatchObject({ status: 'requires_attention', updatedAt: ended.updatedAt });
    await expect(resolution().settle('RF-1', 'succeeded', {})).rejects.toThrow(
      new LedgerError('Refund RF-1 is requires_attention; a resolution cannot record it succeeded'),
    );
  });

  it('ends only the send it claimed: a refund reconciliation took over since (the resolution run was closed) is not moved by that resolution', async () => {
    const read = await needingAPerson(2);
    const claimant = { workflowId: 'resolve:RF-2', runId: 'run-of-the-resolution' };
    const claimed = await resolution().moveAsDecided(
      read,
      'submitting',
      { error: null, decisions: [decision('2026-11-29T08:00:00.000Z', 'Oen lists it charged')] },
      false,
      claimant,
    );
    expect(claimed).toMatchObject({ moved: true });
    const takenOver = await new ReconciliationLedger(database()).apply(
      claimed.record,
      'submitting',
      { error: null },
      { workflowId: 'refundflow-reconcile-1', runId: 'r1' },
    );
    expect(takenOver).toMatchObject({ changed: true });
    await expect(resolution().settle('RF-2', 'succeeded', { providerReference: 'P20261129000002' }, 'resolve:RF-2')).rejects.toThrow(
      new LedgerError('Refund RF-2 is submitting; a resolution cannot record it succeeded'),
    );
    expect(await refunds().get('RF-2')).toMatchObject({ status: 'submitting' });
    expect(await refunds().claimant('RF-2')).toEqual({ workflowId: 'refundflow-reconcile-1', runId: 'r1' });
    // The resolution's own claim had named it: its end is recorded while the claim is still its own.
    const mine = await needingAPerson(3);
    const own = { workflowId: 'resolve:RF-3', runId: 'run-3' };
    await resolution().moveAsDecided(
      mine,
      'submitting',
      { error: null, decisions: [decision('2026-11-29T08:00:00.000Z', 'Oen lists it charged')] },
      false,
      own,
    );
    expect(await refunds().claimant('RF-3')).toEqual(own);
    expect(await resolution().settle('RF-3', 'succeeded', { providerReference: 'P20261129000003' }, 'resolve:RF-3')).toMatchObject({ status: 'succeeded' });
  });

  it('makes no move a resolution may not make', async () => {
    const read = await needingAPerson(1);
    await expect(resolution().moveAsDecided({ ...read, status: 'succeeded' }, 'failed', { decisions: [] })).rejects.toThrow(
      /a resolution does not move a refund from succeeded to failed/,
    );
    await expect(resolution().moveAsDecided(read, 'cancelled', { decisions: [] })).rejects.toThrow(/from requires_attention to cancelled/);
    expect((await refunds().get('RF-1'))?.status).toBe('requires_attention');
  });
});
