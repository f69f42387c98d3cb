import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OenRefundRequested, MwdRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { LedgerError, RefundLedger } from '../../src/ledger/refunds.js';
import { freshDatabase, postgresAvailable, type DatabaseKind } from '../helpers/databases.js';

const kinds: DatabaseKind[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];

const oen = (refundId: string, transactionHid = 'P20240412CIK7KPPH'): OenRefundRequested => ({
  refundId,
  provider: 'oen',
  orderId: 'ORDER00001',
  transactionHid,
  amount: 1000,
});

const mwd: MwdRefundRequested = { refundId: 'RF-MWD-1', provider: 'mwd', orderId: '202008170002', amount: 55, cardToken: 'tok' };

describe.each(kinds)('the refund ledger on %s', (kind) => {
  let db: Database;
  let ledger: RefundLedger;

  // One database per kind (PGlite takes seconds to start), emptied before each test.
  beforeAll(async () => {
    db = await freshDatabase(kind);
    ledger = new RefundLedger(db);
  });

  beforeEach(async () => {
    await db.exec('TRUNCATE refunds');
  });

  afterAll(async () => {
    await db.close();
  });

  it("keeps how long a refund's provider calls have been failing, from the first failure", async () => {
    await ledger.open(oen('RF-1'), 'wf-1');
    await ledger.transition('RF-1', 'submitting');
    const first = await ledger.noteTransientFailure('RF-1');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(5_000);
    await db.query(`UPDATE refunds SET retrying_since = now() - interval '10 minutes' WHERE refund_id = 'RF-1'`);
    await ledger.recordAttempt('RF-1', 2); // a new attempt does not start the window again
    expect(await ledger.noteTransientFailure('RF-1')).toBeGreaterThan(599_000); // still counted from the first failure
  });

  it('opens a refund as received and reads it back', async () => {
    const result = await ledger.open(oen('RF-1'), 'oen-refund-P20240412CIK7KPPH');
    expect(result).toMatchObject({
      opened: {
        refundId: 'RF-1',
        provider: 'oen',
        orderId: 'ORDER00001',
        transactionHid: 'P20240412CIK7KPPH',
        amount: 1000,
        status: 'received',
        attempts: 0,
        workflowId: 'oen-refund-P20240412CIK7KPPH',
      },
    });
    expect(await ledger.get('RF-1')).toEqual('opened' in result ? result.opened : undefined);
    expect(await ledger.get('RF-unknown')).toBeUndefined();
  });

  it('opening the same refund again while it is live changes nothing', async () => {
    await ledger.open(oen('RF-1'), 'wf');
    await ledger.transition('RF-1', 'submitting');
    const again = await ledger.open(oen('RF-1'), 'wf');
    expect(again).toMatchObject({ opened: { refundId: 'RF-1', status: 'submitting' } });
  });

  it('refuses a second refund id for an Oen transaction that has a live one, naming it', async () => {
    await ledger.open(oen('RF-1'), 'wf');
    expect(await ledger.open(oen('RF-2'), 'wf')).toMatchObject({ conflict: { refundId: 'RF-1', status: 'received' } });
    expect(await ledger.get('RF-2')).toBeUndefined();
  });

  it('the database itself refuses a second live row for one Oen transaction', async () => {
    await ledger.open(oen('RF-1'), 'wf');
    await expect(
      db.query(
        `INSERT INTO refunds (refund_id, provider, order_id, transaction_hid, amount, status, workflow_id)
         VALUES ('RF-sneaky', 'oen', 'ORDER00001', 'P20240412CIK7KPPH', 1000, 'succeeded', 'wf')`,
      ),
    ).rejects.toThrow(/refunds_one_per_oen_transaction/);
  });

  it('still refuses after the first one succeeded, and allows a new one after it failed', async () => {
    await ledger.open(oen('RF-1'), 'wf');
    await ledger.transition('RF-1', 'submitting');
    await ledger.transition('RF-1', 'succeeded', { providerReference: 'P20240412CIK7KPPH' });
    expect(await ledger.open(oen('RF-2'), 'wf')).toMatchObject({ conflict: { refundId: 'RF-1', status: 'succeeded' } });

    await ledger.open(oen('RF-3', 'P20990101OTHER001'), 'wf');
    await ledger.transition('RF-3', 'submitting');
    await ledger.transition('RF-3', 'failed', { error: { code: 'OenT0001', message: 'transaction failed' } });
    expect(await ledger.open(oen('RF-4', 'P20990101OTHER001'), 'wf')).toMatchObject({ opened: { refundId: 'RF-4', status: 'received' } });
  });

  it('a new refund of an Oen transaction may follow an earlier one only when the ledger closed that one without a refund', async () => {
    const hid = (refundId: string) => `P2099${refundId.replace('-', '')}`;
    const ends = [
      ['RF-R', 'received', false],
      ['RF-S', 'submitting', false],
      ['RF-OK', 'succeeded', false],
      ['RF-A', 'requires_attention', false],
      ['RF-F', 'failed', true],
      ['RF-C', 'cancelled', true],
    ] as const;
    for (const [refundId, status, follows] of ends) {
      await ledger.open(oen(refundId, hid(refundId)), 'wf');
      if (status !== 'received' && status !== 'cancelled') await ledger.transition(refundId, 'submitting');
      if (status !== 'received' && status !== 'submitting') {
        await ledger.transition(refundId, status, status === 'succeeded' ? { providerReference: 'x' } : { error: { code: 'OenT0001', message: 'x' } });
      }
      expect(await ledger.mayFollow(hid(refundId), refundId), status).toBe(follows);
    }
    // Another transaction's refund, or one the ledger never had, is no reason to follow.
    expect(await ledger.mayFollow(hid('RF-R'), 'RF-F')).toBe(false);
    expect(await ledger.mayFollow(hid('RF-X'), 'RF-X')).toBe(false);
    // A failed refund followed by a live one: a third may not follow the failed one.
    await ledger.open(oen('RF-F2', hid('RF-F')), 'wf');
    expect(await ledger.mayFollow(hid('RF-F'), 'RF-F')).toBe(false);
  });

  it('a refund id ends once: failed, cancelled, succeeded or handed to a person, it is never opened again', async () => {
    const ends = [
      ['RF-F', 'failed'],
      ['RF-C', 'cancelled'],
      ['RF-S', 'succeeded'],
      ['RF-A', 'requires_attention'],
    ] as const;
    for (const [refundId, status] of ends) {
      await ledger.open(oen(refundId, `P2099${refundId.replace('-', '')}`), 'wf');
      if (status !== 'cancelled') await ledger.transition(refundId, 'submitting');
      await ledger.transition(refundId, status, status === 'succeeded' ? { providerReference: 'x' } : { error: { code: 'OenT0001', message: 'x' } });
      // Whichever run asks: its own workflow id again (a re-dispatch) or another.
      for (const workflowId of ['wf', 'wf-2']) {
        expect(await ledger.open(oen(refundId, `P2099${refundId.replace('-', '')}`), workflowId), `${status} via ${workflowId}`).toMatchObject({
          settled: { refundId, status },
        });
      }
      expect((await ledger.get(refundId))?.status).toBe(status);
    }
  });

  it('never resumes a live refund for a run carrying another request, and names both', async () => {
    await ledger.open(oen('RF-1'), 'wf', 'run-1');
    const otherAmount = await ledger.open({ ...oen('RF-1'), amount: 900 }, 'wf', 'run-2');
    expect(otherAmount).toMatchObject({ differs: { refundId: 'RF-1', status: 'received', runId: 'run-1' } });
    expect('differs' in otherAmount && otherAmount.reason).toBe(
      'refund RF-1 is received for NT$1,000 of Oen transaction P20240412CIK7KPPH (order ORDER00001), but this run asks NT$900 of Oen transaction P20240412CIK7KPPH (order ORDER00001)',
    );
    expect(await ledger.open({ ...oen('RF-1'), orderId: 'ORDER-2' }, 'wf')).toHaveProperty('differs');
    await ledger.open(mwd, 'wf-mwd');
    const otherCard = await ledger.open({ ...mwd, cardToken: 'another' }, 'wf-mwd');
    expect('differs' in otherCard && otherCard.reason).toMatch(/but this run asks NT\$55 of MWD order 202008170002, another card token$/);
    // The same request again resumes it, owned by the run that asks (a Reset, a run after a terminated one).
    expect(await ledger.open(oen('RF-1'), 'wf', 'run-3')).toMatchObject({ opened: { refundId: 'RF-1', runId: 'run-3' } });
    expect((await ledger.get('RF-1'))?.runId).toBe('run-3');
  });

  it('moves through the statuses, setting completion, reference and error', async () => {
    await ledger.open(mwd, 'mwd-refund-RF-MWD-1');
    await ledger.transition('RF-MWD-1', 'awaiting_approval');
    await ledger.transition('RF-MWD-1', 'submitting');
    await ledger.recordAttempt('RF-MWD-1', 2);
    await ledger.recordAttempt('RF-MWD-1', 1);
    const done = await ledger.transition('RF-MWD-1', 'succeeded', { providerReference: 'MW202611240000000001' });
    expect(done).toMatchObject({ status: 'succeeded', providerReference: 'MW202611240000000001', attempts: 2 });
    expect(done.completedAt).toBeDefined();
    expect(done.transactionHid).toBeUndefined();
  });

  it('writing the same status twice changes nothing', async () => {
    await ledger.open(oen('RF-1'), 'wf');
    await ledger.transition('RF-1', 'submitting');
    const first = await ledger.transition('RF-1', 'succeeded', { providerReference: 'P20240412CIK7KPPH' });
    const second = await ledger.transition('RF-1', 'succeeded', { providerReference: 'something else' });
    expect(second).toEqual(first);
  });

  it('refuses a move its status does not allow, saying why', async () => {
    await ledger.open(oen('RF-1'), 'wf');
    await ledger.transition('RF-1', 'submitting');
    await ledger.transition('RF-1', 'succeeded', {});
    await expect(ledger.transition('RF-1', 'failed', { error: { code: 'OenT0001', message: 'y' } })).rejects.toThrow(LedgerError);
    await expect(ledger.transition('RF-1', 'cancelled')).rejects.toThrow('Refund RF-1 is succeeded; it cannot become cancelled');
    await expect(ledger.transition('RF-none', 'submitting')).rejects.toThrow('No refund RF-none in the ledger');
  });

  it('remembers a send that was never answered, for the next attempt of any run to see', async () => {
    await ledger.open(mwd, 'wf');
    await ledger.transition('RF-MWD-1', 'submitting');
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run A')).toEqual({ claimed: true });
    await ledger.markAnswered('RF-MWD-1', 'attempt 1 of run A');
    expect(await ledger.markSending('RF-MWD-1', 'attempt 2 of run A')).toEqual({ claimed: true });
    // attempt 2 died between sending and hearing back: the next attempt, and a new run's first, see it
    expect(await ledger.markSending('RF-MWD-1', 'attempt 3 of run A')).toMatchObject({ claimed: false, unansweredBy: 'attempt 2 of run A' });
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run B')).toMatchObject({ claimed: false, unansweredBy: 'attempt 2 of run A' });
  });

  it("writes an answer only onto the row its sender's mark holds: a late answer of an old attempt writes nothing", async () => {
    await ledger.open(mwd, 'wf');
    await ledger.transition('RF-MWD-1', 'submitting');
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run A')).toEqual({ claimed: true });
    await ledger.markAnswered('RF-MWD-1', 'attempt 1 of run A');
    expect(await ledger.markSending('RF-MWD-1', 'attempt 2 of run A')).toEqual({ claimed: true });
    // Attempt 1 answered again, late (its activity kept running after Temporal gave up on it).
    const late = await ledger.markAnswered('RF-MWD-1', 'attempt 1 of run A', 'MW202611250000000009');
    expect(await ledger.get('RF-MWD-1')).not.toHaveProperty('providerReference');
    expect(late).toBe(false);
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run B')).toMatchObject({ claimed: false, unansweredBy: 'attempt 2 of run A' });
    expect(await ledger.markAnswered('RF-MWD-1', 'attempt 2 of run A', 'MW202611250000000010')).toBe(true);
    expect(await ledger.get('RF-MWD-1')).toMatchObject({ providerReference: 'MW202611250000000010' });
  });

  it('gives no send once the success is recorded, or to a refund not being submitted', async () => {
    await ledger.open(mwd, 'wf');
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run A')).toMatchObject({ claimed: false, record: { status: 'received' } });
    await ledger.transition('RF-MWD-1', 'submitting');
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run A')).toEqual({ claimed: true });
    await ledger.markAnswered('RF-MWD-1', 'attempt 1 of run A', 'MW202611250000000001');
    // a timed-out attempt that checked the ledger before that answer came asks only now
    const late = await ledger.markSending('RF-MWD-1', 'attempt 1 of run A');
    expect(late).toMatchObject({ claimed: false, record: { status: 'submitting', providerReference: 'MW202611250000000001' } });
    expect(late).not.toHaveProperty('unansweredBy');
    await ledger.transition('RF-MWD-1', 'succeeded', { providerReference: 'MW202611250000000001' });
    expect(await ledger.markSending('RF-MWD-1', 'attempt 1 of run B')).toMatchObject({ claimed: false, record: { status: 'succeeded' } });
  });

  it('answers settled for a refund that succeeded or went to a person, whichever run asks', async () => {
    await ledger.open(mwd, 'wf');
    await ledger.transition('RF-MWD-1', 'submitting');
    await ledger.transition('RF-MWD-1', 'succeeded', { providerReference: 'REF' });
    expect(await ledger.open(mwd, 'wf')).toMatchObject({ settled: { status: 'succeeded', providerReference: 'REF' } });
    expect(await ledger.open(mwd, 'another-run')).toMatchObject({ settled: { status: 'succeeded' } });

    await ledger.open(oen('RF-2'), 'wf-2');
    await ledger.transition('RF-2', 'submitting');
    await ledger.transition('RF-2', 'requires_attention', { error: { code: 'MwdOutcomeUnknown', message: 'no answer' } });
    expect(await ledger.open(oen('RF-2'), 'wf-2')).toMatchObject({ settled: { status: 'requires_attention' } });
  });

  it('answers inFlight when another workflow id owns the live refund, and resumes for its own', async () => {
    await ledger.open(oen('RF-1'), 'wf-1');
    await ledger.transition('RF-1', 'submitting');
    expect(await ledger.open(oen('RF-1'), 'wf-other')).toMatchObject({ inFlight: { workflowId: 'wf-1', status: 'submitting' } });
    expect(await ledger.open(oen('RF-1'), 'wf-1')).toMatchObject({ opened: { status: 'submitting' } });
  });

  it('a failed refund id keeps its record: another request under it is answered with how it ended, never opened', async () => {
    await ledger.open(mwd, 'wf');
    await ledger.transition('RF-MWD-1', 'submitting');
    await ledger.markSending('RF-MWD-1', 'attempt 1 of run A');
    await ledger.transition('RF-MWD-1', 'failed', { error: { code: 'MwdRefused', message: 'no' } });
    expect(await ledger.open({ ...mwd, orderId: 'ORDER-NEW', amount: 77 }, 'wf')).toMatchObject({
      settled: { status: 'failed', orderId: '202008170002', amount: 55, error: { code: 'MwdRefused' } },
    });
  });

  it('lists refunds last updated before a time, with the other filters, a page at a time', async () => {
    // Created a minute apart (RF-1 first); last updated at the times given.
    const refunds = [
      ['RF-1', 'ORDER-A', '2026-11-25T07:00:00Z'],
      ['RF-2', 'ORDER-A', '2026-11-25T09:59:59.999Z'],
      ['RF-3', 'ORDER-B', '2026-11-25T10:00:00Z'],
      ['RF-4', 'ORDER-B', '2026-11-25T08:00:00Z'],
      ['RF-5', 'ORDER-B', '2026-11-25T12:00:00Z'],
    ] as const;
    for (const [i, [refundId, orderId, updatedAt]] of refunds.entries()) {
      await ledger.open({ ...oen(refundId, `P2099LIST${i}`), orderId }, 'wf');
      await db.query(`UPDATE refunds SET created_at = timestamptz '2026-11-25T06:00:00Z' + $2 * interval '1 minute', updated_at = $3 WHERE refund_id = $1`, [
        refundId,
        i,
        updatedAt,
      ]);
    }
    await ledger.transition('RF-4', 'submitting');
    await db.query(`UPDATE refunds SET updated_at = '2026-11-25T08:00:00Z' WHERE refund_id = 'RF-4'`);
    const ids = (page: { refunds: Array<{ refundId: string }> }) => page.refunds.map((r) => r.refundId);
    const tenOClock = new Date('2026-11-25T10:00:00Z');

    // Strictly before: RF-3, updated at exactly that time, is not waiting longer than it.
    expect(ids(await ledger.list({ updatedBefore: tenOClock, limit: 50 }))).toEqual(['RF-4', 'RF-2', 'RF-1']);
    expect(ids(await ledger.list({ updatedBefore: tenOClock, status: 'received', limit: 50 }))).toEqual(['RF-2', 'RF-1']);
    expect(ids(await ledger.list({ updatedBefore: tenOClock, orderId: 'ORDER-B', limit: 50 }))).toEqual(['RF-4']);
    expect(ids(await ledger.list({ updatedBefore: new Date('2026-11-25T07:00:00Z'), limit: 50 }))).toEqual([]);
    expect(ids(await ledger.list({ limit: 50 }))).toEqual(['RF-5', 'RF-4', 'RF-3', 'RF-2', 'RF-1']);

    // Paged one at a time, the filter holds on every page and the pages add up to the whole list.
    const paged: string[] = [];
    let after: string | undefined;
    do {
      const page = await ledger.list({ updatedBefore: tenOClock, limit: 1, ...(after !== undefined && { after }) });
      paged.push(...ids(page));
      after = page.next;
    } while (after !== undefined);
    expect(paged).toEqual(['RF-4', 'RF-2', 'RF-1']);
  });

  it('migrating again applies nothing', async () => {
    expect(await migrate(db)).toEqual([]);
  });
});
