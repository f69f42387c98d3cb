import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRecordedEnd, type RecordedOutcome } from '../../src/activities/submission.js';
import type { ProviderOutcome } from '../../src/domain/provider-call.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { Database } from '../../src/ledger/database.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { freshDatabase, postgresAvailable } from '../helpers/databases.js';

const succeeded: ProviderOutcome = { outcome: 'succeeded', providerReference: 'P-REF' };
const inDoubt: ProviderOutcome = { outcome: 'requires_attention', code: 'OenStateUnexplained', reason: 'Oen shows something else' };

/**
 * A refund run's provider call records the refund's end itself (src/activities/submission.ts): the
 * outcome is never lost to the ledger. Away, the outcome goes back unrecorded and the run records it
 * with its own step; ended since, the ledger's end goes back and stands.
 */
describe('the end a provider call records', () => {
  let db: Database;
  let ledger: RefundLedger;
  const env = () => new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') });

  beforeAll(async () => {
    db = await freshDatabase((await postgresAvailable()) ? 'postgres' : 'pglite');
    ledger = new RefundLedger(db);
  });
  afterAll(() => db.close());

  async function submitting(): Promise<string> {
    const request: OenRefundRequested = {
      refundId: `RF-${randomUUID()}`,
      provider: 'oen',
      orderId: 'ORDER-1',
      transactionHid: `P${randomUUID()}`,
      amount: 100,
    };
    await ledger.open(request, `refund-${request.refundId}`);
    await ledger.transition(request.refundId, 'submitting');
    return request.refundId;
  }
  const record = (refundId: string, outcome: ProviderOutcome, on: RefundLedger = ledger, recordEnd = true) =>
    env().run<[], RecordedOutcome, () => Promise<RecordedOutcome>>(() => withRecordedEnd({ ledger: on }, refundId, outcome, { recordEnd }));

  it('records a success with its reference, and a refund in doubt with why, answering the record', async () => {
    const paid = await submitting();
    expect(await record(paid, succeeded)).toMatchObject({ ...succeeded, record: { status: 'succeeded', providerReference: 'P-REF' } });
    expect(await ledger.get(paid)).toMatchObject({ status: 'succeeded', providerReference: 'P-REF' });

    const doubtful = await submitting();
    expect(await record(doubtful, inDoubt)).toMatchObject({ record: { status: 'requires_attention', error: { code: 'OenStateUnexplained' } } });
  });

  it('records nothing unless the run asks', async () => {
    const refundId = await submitting();
    expect(await record(refundId, succeeded, ledger, false)).toEqual(succeeded);
    expect((await ledger.get(refundId))?.status).toBe('submitting');
  });

  it('a retried call records the same end again: nothing changes', async () => {
    const refundId = await submitting();
    const first = await record(refundId, succeeded);
    expect(await record(refundId, succeeded)).toMatchObject({ record: { status: 'succeeded', version: first.record?.version } });
  });

  it('with the ledger away, the outcome goes back unrecorded, for the run to record with its own step', async () => {
    const refundId = await submitting();
    const away = new Proxy(ledger, {
      get: (target, property, receiver) =>
        property === 'transition'
          ? () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))
          : (Reflect.get(target, property, receiver) as unknown),
    });
    expect(await record(refundId, succeeded, away)).toEqual(succeeded);
    expect((await ledger.get(refundId))?.status).toBe('submitting');
  });

  it('a refund that ended since (another attempt had the answer first): the ledger refuses the move, and its end goes back', async () => {
    const refundId = await submitting();
    await ledger.transition(refundId, 'succeeded', { providerReference: 'P-REF', error: null });
    expect(await record(refundId, inDoubt)).toMatchObject({ ...inDoubt, record: { status: 'succeeded', providerReference: 'P-REF' } });
    expect((await ledger.get(refundId))?.status).toBe('succeeded');
  });
});
