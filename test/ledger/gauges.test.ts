import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emptyCounts } from '../../src/domain/reconcile.js';
import type { Database } from '../../src/ledger/database.js';
import { readLedgerGauges, type LedgerGauges } from '../../src/ledger/gauges.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { OutcomeOutbox } from '../../src/ledger/outbox.js';
import { ReconciliationLedger } from '../../src/ledger/reconciliation.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { SubscriptionLedger } from '../../src/ledger/subscriptions.js';
import { freshDatabase, ledgerKinds, oenRequest } from '../helpers/databases.js';

const kinds = await ledgerKinds();

const refundsIn = (gauges: LedgerGauges, status: string) => gauges.refunds.find((r) => r.status === status);

describe.each(kinds)('the ledger gauges on %s', (kind) => {
  let db: Database;
  let refunds: RefundLedger;

  beforeAll(async () => {
    db = await freshDatabase(kind);
    refunds = new RefundLedger(db);
  });
  beforeEach(async () => {
    await db.exec(
      'TRUNCATE refunds, inbox_events, refund_requests, reconciliation_reports, outcome_events, outcome_destinations, unconfirmed_subscription_cancels',
    );
  });
  afterAll(async () => {
    await db.close();
  });

  it('reads nothing waiting from an empty ledger: every open status listed at 0, no reconciliation yet', async () => {
    const gauges = await readLedgerGauges(db);
    expect(gauges.refunds).toEqual(
      ['received', 'awaiting_approval', 'submitting', 'requires_attention'].map((status) => ({ status, count: 0, oldestAgeSeconds: 0 })),
    );
    expect(gauges.inbox).toEqual({ count: 0, oldestAgeSeconds: 0 });
    expect(gauges.outcomes).toEqual({ count: 0, oldestAgeSeconds: 0 });
    expect(gauges.notRequestedRuns).toBe(0);
    expect(gauges.reconciliation).toBeUndefined();
  });

  it('counts refunds by open status, aged from when each entered it: an attempt or new evidence does not make it younger', async () => {
    for (const n of [1, 2, 3]) await refunds.open(oenRequest(n), `wf-${n}`);
    await refunds.transition('RF-1', 'submitting');
    await refunds.transition('RF-1', 'requires_attention');
    await refunds.transition('RF-2', 'submitting');
    await refunds.transition('RF-3', 'awaiting_approval');
    await refunds.open(oenRequest(4), 'wf-4');
    await refunds.transition('RF-4', 'submitting');
    await refunds.transition('RF-4', 'succeeded', { providerReference: 'ref' });
    await db.query(`UPDATE refunds SET status_since = now() - interval '2 hours' WHERE refund_id IN ('RF-1', 'RF-2')`);
    // Writes that keep the status keep status_since: an attempt, reconciliation's evidence.
    await refunds.recordAttempt('RF-2', 2);
    await db.query(`UPDATE refunds SET error_message = 'more evidence', updated_at = now() WHERE refund_id = 'RF-1'`);

    const gauges = await readLedgerGauges(db);
    expect(refundsIn(gauges, 'requires_attention')?.count).toBe(1);
    expect(refundsIn(gauges, 'requires_attention')?.oldestAgeSeconds).toBeGreaterThanOrEqual(7200);
    expect(refundsIn(gauges, 'requires_attention')?.oldestAgeSeconds).toBeLessThan(7300);
    expect(refundsIn(gauges, 'submitting')?.count).toBe(1);
    expect(refundsIn(gauges, 'submitting')?.oldestAgeSeconds).toBeGreaterThanOrEqual(7200);
    expect(refundsIn(gauges, 'awaiting_approval')?.count).toBe(1);
    expect(refundsIn(gauges, 'awaiting_approval')?.oldestAgeSeconds).toBeLessThan(60);
    expect(refundsIn(gauges, 'received')?.count).toBe(0);
    expect(gauges.refunds.map((r) => r.status)).not.toContain('succeeded');

    // A move to another status starts its clock again.
    await refunds.transition('RF-2', 'requires_attention');
    const after = await readLedgerGauges(db);
    expect(refundsIn(after, 'requires_attention')?.count).toBe(2);
    expect(refundsIn(after, 'submitting')).toEqual({ status: 'submitting', count: 0, oldestAgeSeconds: 0 });
    const { rows } = await db.query<{ age: number }>(`SELECT EXTRACT(EPOCH FROM now() - status_since)::float8 AS age FROM refunds WHERE refund_id = 'RF-2'`);
    expect(rows[0]?.age).toBeLessThan(60);
  });

  it('ages a refund written before status_since was kept by its last update', async () => {
    await refunds.open(oenRequest(1), 'wf-1');
    await db.query(`UPDATE refunds SET status_since = NULL, updated_at = now() - interval '1 hour' WHERE refund_id = 'RF-1'`);
    expect(refundsIn(await readLedgerGauges(db), 'received')?.oldestAgeSeconds).toBeGreaterThanOrEqual(3600);
  });

  it('counts accepted events whose workflow is not started yet, aged from acceptance', async () => {
    const inbox = new EventInbox(db);
    const accept = (eventId: string) =>
      inbox.accept({
        event: { id: eventId, source: 'test', type: 'subscription.cancelled', data: { provider: 'oen', subscriptionId: eventId } },
        bodyHash: eventId,
        answer: { statusCode: 202, body: {} },
      });
    for (const id of ['evt-1', 'evt-2', 'evt-3']) await accept(id);
    await inbox.markStarted('evt-3');
    await db.query(`UPDATE inbox_events SET received_at = now() - interval '10 minutes' WHERE event_id = 'evt-1'`);
    const { inbox: pending } = await readLedgerGauges(db);
    expect(pending.count).toBe(2);
    expect(pending.oldestAgeSeconds).toBeGreaterThanOrEqual(600);
    expect(pending.oldestAgeSeconds).toBeLessThan(700);
  });

  it('counts the outcome events in the outbox a configured destination has not taken, aged from when each was written; none while no destination is', async () => {
    const refunds = new RefundLedger(db);
    for (const n of [1, 2]) await refunds.recordForPerson(oenRequest(n), `wf-${n}`, { code: 'NotRefundedByOrder', message: 'kept' });
    await new SubscriptionLedger(db).recordUnconfirmed({ subscriptionId: 'SUB-1', orderId: 'ORDER-1', reason: 'no answer', workflowId: 'wf-sub' });
    await db.query(`UPDATE outcome_events SET recorded_at = now() - interval '15 minutes' WHERE subject = 'RF-1'`);
    // Nowhere to send them: nothing waits.
    expect((await readLedgerGauges(db)).outcomes).toEqual({ count: 0, oldestAgeSeconds: 0 });
    const outbox = new OutcomeOutbox(db);
    await outbox.register(['webhook', 'amqp']);
    // Registered with the three already written, before any was sequenced: all three wait, sequenced or not.
    await db.query('UPDATE outcome_destinations SET delivered_through = 0');
    const waiting = (await readLedgerGauges(db)).outcomes;
    expect(waiting.count).toBe(3);
    expect(waiting.oldestAgeSeconds).toBeGreaterThanOrEqual(900);
    await outbox.sequence();
    expect((await readLedgerGauges(db)).outcomes.count).toBe(3);
    // The webhook took the first two, the broker the first one: the slowest destination counts.
    await outbox.lease('webhook', 'r', 60_000);
    await outbox.delivered('webhook', 'r', 2, 60_000);
    await outbox.lease('amqp', 'r', 60_000);
    await outbox.delivered('amqp', 'r', 1, 60_000);
    const left = (await readLedgerGauges(db)).outcomes;
    expect(left.count).toBe(2);
    expect(left.oldestAgeSeconds).toBeLessThan(60);
    // The broker no longer configured: the webhook's one left counts.
    await outbox.register(['webhook']);
    expect((await readLedgerGauges(db)).outcomes.count).toBe(1);
  });

  it("reads the latest reconciliation report's counts, every outcome present", async () => {
    const reconciliation = new ReconciliationLedger(db);
    const report = (runId: string, finishedAt: string, mismatch: number) => ({
      workflowId: 'refundflow-reconcile',
      runId,
      startedAt: finishedAt,
      finishedAt,
      policy: { submittingAfterSeconds: 3600, succeededWithinDays: 7, resubmit: false },
      examined: 3,
      counts: { ...emptyCounts(), confirmed: 2, mismatch },
      changed: [],
      notes: [],
      mwdUnresolved: [],
    });
    await reconciliation.saveReport(report('run-2', '2026-11-29T08:15:00.000Z', 1));
    await reconciliation.saveReport(report('run-1', '2026-11-29T08:00:00.000Z', 0));
    // A report kept before an outcome existed lacks its count.
    await db.query(`UPDATE reconciliation_reports SET report = report #- '{counts,run_ended}' WHERE run_id = 'run-2'`);
    const { reconciliation: last } = await readLedgerGauges(db);
    expect(last?.finishedAt.toISOString()).toBe('2026-11-29T08:15:00.000Z');
    expect(last?.counts).toEqual({ ...emptyCounts(), confirmed: 2, mismatch: 1 });
  });
});
