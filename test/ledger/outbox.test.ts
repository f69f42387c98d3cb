import type { Server } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outcomeDeliveryId } from '../../src/activities/outcome.js';
import { postgresDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { writeMove } from '../../src/ledger/moves.js';
import { OutcomeOutbox } from '../../src/ledger/outbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { SubscriptionLedger } from '../../src/ledger/subscriptions.js';
import { outcomeCloudEvent } from '../../src/outcomes/cloud-event.js';
import { webhookDestination } from '../../src/outcomes/destinations.js';
import { OutcomeRelay } from '../../src/outcomes/relay.js';
import { newWebhookSecret } from '../helpers/api.js';
import { scriptedReceiver } from '../helpers/scripted-receiver.js';
import { freshDatabase, ledgerKinds, oenRequest, postgresSchema } from '../helpers/databases.js';

const kinds = await ledgerKinds();
const ui = { uiBaseUrl: 'http://ui.test', namespace: 'default' };

/** A scripted receiver, and the ids of the events it took (signed, answered 200), in order. */
async function receiver(secret: string, answers: number[] = []): Promise<{ ids: () => string[]; url: string; server: Server }> {
  const { deliveries, url, server } = await scriptedReceiver(secret, { answers });
  return { ids: () => deliveries.filter((d) => d.verified && d.status === 200).map((d) => d.id), url, server };
}

describe.each(kinds)('the outcome outbox on %s', (kind) => {
  let db: Database;
  let refunds: RefundLedger;
  let outbox: OutcomeOutbox;

  beforeAll(async () => {
    db = await freshDatabase(kind);
    refunds = new RefundLedger(db);
    outbox = new OutcomeOutbox(db);
  });
  beforeEach(async () => {
    await db.exec('TRUNCATE refunds, outcome_events, outcome_destinations, unconfirmed_subscription_cancels');
  });
  afterAll(async () => {
    await db.close();
  });

  it('a refund reaching an outcome status has its event written with it, once per status reached; other moves write none', async () => {
    const request = oenRequest(1);
    await refunds.open(request, 'wf-1');
    await refunds.transition(request.refundId, 'submitting');
    expect(await outbox.ofSubject(request.refundId)).toEqual([]);
    await refunds.transition(request.refundId, 'requires_attention', { error: { code: 'OenOutcomeUnknown', message: 'no answer' } });
    // The same status again (a retried activity) and an error changed in place write nothing new.
    await refunds.transition(request.refundId, 'requires_attention');
    await db.query(`UPDATE refunds SET error_message = 'more evidence', updated_at = now() WHERE refund_id = $1`, [request.refundId]);
    await writeMove(db, {
      kind: 'resolution',
      refundId: request.refundId,
      to: 'succeeded',
      fields: { providerReference: 'REF-1' },
      asRead: (await refunds.get(request.refundId))!,
    });
    const events = await outbox.ofSubject(request.refundId);
    expect(events.map((e) => e.type)).toEqual(['refund.requires_attention', 'refund.succeeded']);
    // The event carries the record as it was then, under the id the runs' own delivery gave it.
    const record = (await refunds.get(request.refundId))!;
    const succeeded = outcomeCloudEvent(events[1]!, ui);
    expect(succeeded).toEqual({
      specversion: '1.0',
      id: outcomeDeliveryId(record),
      source: 'refundflow',
      type: 'refund.succeeded',
      time: record.updatedAt,
      datacontenttype: 'application/json',
      data: { ...record, uiUrl: 'http://ui.test/namespaces/default/workflows/wf-1' },
    });
    expect(outcomeCloudEvent(events[0]!, ui).data).toMatchObject({ status: 'requires_attention', error: { code: 'OenOutcomeUnknown', message: 'no answer' } });
  });

  it('a refund kept for a person from the start, and a subscription cancel left for a person, have theirs', async () => {
    await refunds.recordForPerson(oenRequest(2), 'wf-order', { code: 'NotRefundedByOrder', message: 'paid at a convenience store' });
    const kept = await new SubscriptionLedger(db).recordUnconfirmed({
      subscriptionId: 'SUB-1',
      orderId: 'ORDER-2',
      reason: 'not cancelled: F0001',
      workflowId: 'wf-order',
    });
    expect((await outbox.ofSubject('RF-2')).map((e) => e.type)).toEqual(['refund.requires_attention']);
    const [subscription] = await outbox.ofSubject('SUB-1');
    expect(outcomeCloudEvent(subscription!, ui)).toMatchObject({
      id: `SUB-1.requires_attention.${Date.parse(kept!.recordedAt)}`,
      type: 'subscription.requires_attention',
      data: { ...kept, uiUrl: 'http://ui.test/namespaces/default/workflows/wf-order' },
    });
  });

  it('a status move that does not commit leaves no event', async () => {
    const request = oenRequest(3);
    await refunds.open(request, 'wf-3');
    await refunds.transition(request.refundId, 'submitting');
    await expect(
      db.transaction(async (tx) => {
        await writeMove(tx, { kind: 'run', refundId: request.refundId, to: 'succeeded' });
        throw new Error('the transaction ends here');
      }),
    ).rejects.toThrow('the transaction ends here');
    expect((await refunds.get(request.refundId))?.status).toBe('submitting');
    expect(await outbox.ofSubject(request.refundId)).toEqual([]);
  });

  it('the stream: positions given in the order the events were written, none twice, none skipped', async () => {
    for (const n of [4, 5, 6]) {
      await refunds.open(oenRequest(n), `wf-${n}`);
      await refunds.transition(`RF-${n}`, 'submitting');
      await refunds.transition(`RF-${n}`, n === 5 ? 'failed' : 'succeeded', n === 5 ? { error: { code: 'OenT0001', message: 'refused' } } : {});
    }
    expect(await outbox.after(0, 10)).toEqual([]); // not sequenced yet
    expect(await outbox.sequence()).toBe(3);
    expect(await outbox.sequence()).toBe(0);
    const stream = await outbox.after(0, 10);
    expect(stream.map((e) => [e.position, e.subject])).toEqual([
      [1, 'RF-4'],
      [2, 'RF-5'],
      [3, 'RF-6'],
    ]);
    expect((await outbox.after(1, 1)).map((e) => e.subject)).toEqual(['RF-5']);
  });

  it('the relay delivers in stream order, resumes where it stopped after a restart, and holds the rest back while the receiver refuses one', async () => {
    const secret = newWebhookSecret();
    const { ids, url, server } = await receiver(secret, [503, 503]);
    const relayOn = () => new OutcomeRelay({ outbox, destinations: [webhookDestination({ url, secret })], ui, pollMs: 20, backoffMs: 20, maxBackoffMs: 100 });
    let relay = relayOn();
    await relay.start();
    for (const n of [7, 8]) {
      await refunds.open(oenRequest(n), `wf-${n}`);
      await refunds.transition(`RF-${n}`, 'submitting');
      await refunds.transition(`RF-${n}`, 'succeeded');
    }
    await expect.poll(() => ids().length, { timeout: 10_000, interval: 20 }).toBe(2);
    await relay.close();
    // Written while no relay runs: delivered by the next one, after the first two, nothing twice.
    await refunds.open(oenRequest(9), 'wf-9');
    await refunds.transition('RF-9', 'submitting');
    await refunds.transition('RF-9', 'succeeded');
    relay = relayOn();
    await relay.start();
    await expect.poll(() => ids().length, { timeout: 10_000, interval: 20 }).toBe(3);
    await relay.close();
    server.close();
    const expected = await Promise.all(['RF-7', 'RF-8', 'RF-9'].map(async (id) => outcomeDeliveryId((await refunds.get(id))!)));
    expect(ids()).toEqual(expected);
    expect(await outbox.destinations()).toMatchObject([{ destination: 'webhook', deliveredThrough: 3, failures: 0 }]);
  });

  it('a relay whose ledger does not answer when it starts does not stop its process: it starts, and delivers, once the ledger answers', async () => {
    const secret = newWebhookSecret();
    const { ids, url, server } = await receiver(secret);
    let down = true;
    const flaky: Database = {
      ...db,
      transaction: ((work: Parameters<Database['transaction']>[0]) =>
        down ? Promise.reject(new Error('the ledger is unreachable (this test)')) : db.transaction(work)) as Database['transaction'],
    };
    const said: string[] = [];
    const relay = new OutcomeRelay({
      outbox: new OutcomeOutbox(flaky),
      destinations: [webhookDestination({ url, secret })],
      ui,
      pollMs: 20,
      backoffMs: 20,
      log: { warn: (line) => said.push(line), info: (line) => said.push(line) },
    });
    await relay.start();
    expect(said).toEqual(['outcome relay: the ledger did not answer (the ledger is unreachable (this test)); it starts once the ledger does']);
    await refunds.recordForPerson(oenRequest(4), 'wf-4', { code: 'NotRefundedByOrder', message: 'kept' });
    down = false;
    await expect.poll(() => ids().length, { timeout: 10_000, interval: 20 }).toBe(1);
    await relay.close();
    server.close();
    expect(said.at(-1)).toBe('outcome relay: the ledger answers; delivering');
  });

  it('two relays on one ledger: one holds the destination at a time, each event is delivered once', async () => {
    const secret = newWebhookSecret();
    const { ids, url, server } = await receiver(secret);
    const relays = [0, 1].map(() => new OutcomeRelay({ outbox, destinations: [webhookDestination({ url, secret })], ui, pollMs: 10, leaseMs: 60_000 }));
    for (const relay of relays) await relay.start();
    for (let n = 10; n < 40; n += 1) {
      const request = { ...oenRequest(1), refundId: `RF-${n}`, transactionHid: `P202611290000${n}` };
      await refunds.open(request, `wf-${n}`);
      await refunds.transition(request.refundId, 'submitting');
      await refunds.transition(request.refundId, 'succeeded');
    }
    await expect.poll(() => ids().length, { timeout: 20_000, interval: 20 }).toBe(30);
    for (const relay of relays) await relay.close();
    server.close();
    expect(new Set(ids()).size).toBe(30);
    expect(ids().map((id) => id.split('.')[0])).toEqual(Array.from({ length: 30 }, (_, i) => `RF-${i + 10}`));
  });

  it('a destination no longer configured is retired and no longer counts; one new to the ledger starts after the last event', async () => {
    await refunds.recordForPerson(oenRequest(1), 'wf', { code: 'NotRefundedByOrder', message: 'kept' });
    await outbox.sequence();
    await outbox.register(['webhook', 'nats']);
    expect(await outbox.destinations()).toMatchObject([
      { destination: 'nats', deliveredThrough: 1 },
      { destination: 'webhook', deliveredThrough: 1 },
    ]);
    await outbox.register(['webhook']);
    expect((await outbox.destinations()).map((d) => d.destination)).toEqual(['webhook']);
  });
});

describe.runIf(kinds.includes('postgres'))('the stream on PostgreSQL, with transactions that commit out of order', () => {
  let schema: { url: string; drop: () => Promise<void> };
  let db: Database;
  beforeAll(async () => {
    schema = await postgresSchema();
    db = postgresDatabase(schema.url);
    await migrate(db);
  });
  afterAll(async () => {
    await db.close();
    await schema.drop();
  });

  it('an event whose transaction is still open gets no position; once it commits it comes after the ones sequenced meanwhile', async () => {
    const refunds = new RefundLedger(db);
    const outbox = new OutcomeOutbox(db);
    for (const n of [1, 2]) {
      await refunds.open(oenRequest(n), `wf-${n}`);
      await refunds.transition(`RF-${n}`, 'submitting');
    }
    // RF-1's end is written first (the lower id), in a transaction held open on a connection of its own.
    const held = new pg.Client({ connectionString: schema.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      await held.query(`UPDATE refunds SET status = 'succeeded', updated_at = now() WHERE refund_id = 'RF-1'`);
      await refunds.transition('RF-2', 'succeeded');
      expect(await outbox.sequence()).toBe(1);
      expect((await outbox.after(0, 10)).map((e) => [e.position, e.subject])).toEqual([[1, 'RF-2']]);
      await held.query('COMMIT');
    } finally {
      await held.end();
    }
    expect(await outbox.sequence()).toBe(1);
    // A reader that had read position 1 finds RF-1 after it: nothing showed up behind its cursor.
    expect((await outbox.after(1, 10)).map((e) => [e.position, e.subject])).toEqual([[2, 'RF-1']]);
  });
});
