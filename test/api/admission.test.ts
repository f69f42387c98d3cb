import { describe, expect, it } from 'vitest';
import { oenRefundEvent, useApi } from '../helpers/api.js';
import { useEngine } from '../helpers/engine.js';
import { admin, sandboxRefunds } from '../helpers/sandbox.js';

const engine = useEngine('api-admission');
const api = useApi(engine, { runningRefundsLimit: 2 });

/**
 * RUNNING_REFUNDS_LIMIT (src/api/admission.ts): past the limit, an accepted event waits in the
 * inbox, and the dispatcher starts it, oldest first, when a run ends; every one is carried out once.
 */
describe('an API process keeps at most RUNNING_REFUNDS_LIMIT refund runs working', () => {
  it('with a limit of 2, six refunds sent at once are all accepted, two run at a time, the rest wait in the inbox, and each is refunded once; a known refund id is answered 200 meanwhile', async () => {
    // Each Oen refund call takes 1.5 s, so the first two are still being worked while the rest arrive.
    await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', { refund: { latencyMs: 1_500 } });
    const events = await Promise.all(Array.from({ length: 6 }, () => oenRefundEvent(engine())));
    const answers = [];
    for (const event of events) answers.push(await api().send(event));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202]);
    // The same answer either way: the refund received, its workflow id and Web UI link.
    expect(answers[5]?.body).toMatchObject({ refunds: [{ refundId: events[5]?.data.refundId, status: 'received' }] });

    // The first two were started at once; the four after them wait.
    const waiting = async () => {
      const entries = await Promise.all(events.map((event) => api().inbox.get(event.id)));
      return entries.map((entry) => entry?.status);
    };
    expect(await waiting()).toEqual(['started', 'started', 'pending', 'pending', 'pending', 'pending']);

    // Every place taken, a new event for a refund the ledger has is still answered 200 with where it
    // stands, as api.md says, and started nothing: it does not wait in the inbox.
    const again = { ...events[0], id: `${events[0]?.id}-again` };
    await expect.poll(async () => (await engine().ledger.get(again.data?.refundId ?? ''))?.status, { timeout: 10_000 }).toBeDefined();
    const answer = await api().send(again);
    expect(answer.status).toBe(200);
    const [refund] = (answer.body as { refunds: Array<{ refundId: string; status: string }> }).refunds;
    expect(refund?.refundId).toBe(again.data?.refundId);
    expect(['received', 'submitting']).toContain(refund?.status);
    expect((await api().inbox.get(again.id))?.status).toBe('started');

    // Until all six succeed, never more than two are being worked (received or submitting in the ledger).
    let mostWorked = 0;
    await expect
      .poll(
        async () => {
          const records = await Promise.all(events.map((event) => engine().ledger.get(event.data.refundId)));
          const worked = records.filter((record) => record?.status === 'received' || record?.status === 'submitting').length;
          mostWorked = Math.max(mostWorked, worked);
          return records.map((record) => record?.status);
        },
        { timeout: 60_000, interval: 100 },
      )
      .toEqual(Array(6).fill('succeeded'));
    expect(mostWorked).toBeGreaterThan(0);
    expect(mostWorked).toBeLessThanOrEqual(2);
    expect(await waiting()).toEqual(Array(6).fill('started'));

    const refunded = (await sandboxRefunds(engine().sandboxes.oenUrl)).map((refund) => refund.reference);
    for (const event of events) expect(refunded.filter((hid) => hid === event.data.transactionHid)).toHaveLength(1);
    await admin(engine().sandboxes.oenUrl, 'PUT', 'faults', {});
  }, 120_000);
});
