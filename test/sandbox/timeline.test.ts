import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.js';
import { Timeline, type TimelineEntry } from '../../src/sandbox/server.js';
import { sandboxClients } from '../helpers/engine.js';
import { admin, seededMwdRefund, seededOenRefund, useSandboxes } from '../helpers/sandbox.js';

describe("the emulators' request timeline", () => {
  const sandboxes = useSandboxes();

  it('records each request with its arrival and the moment its answer left; a dropped one has no answer', async () => {
    const { oenUrl, mwdUrl } = sandboxes();
    const clients = sandboxClients(sandboxes());
    const oen = await seededOenRefund(oenUrl);
    const mwd = await seededMwdRefund(mwdUrl);
    await admin(mwdUrl, 'PUT', 'faults', { refund: { latencyMs: 40, next: ['commitThenDrop'] } });
    const before = Date.now();

    await clients.oen.listTransactions(oen.orderId);
    await expect(clients.mwd.refund(mwd.orderId, { cardToken: mwd.cardToken, amount: mwd.amount })).rejects.toBeInstanceOf(ProviderError);
    await clients.mwd.refund(mwd.orderId, { cardToken: mwd.cardToken, amount: mwd.amount }).catch(() => undefined);

    const oenSeen = (await admin<{ timeline: TimelineEntry[] }>(oenUrl, 'GET', `timeline?since=${before}`)).timeline;
    expect(oenSeen).toHaveLength(1);
    expect(oenSeen[0]).toMatchObject({ route: 'listTransactions' });
    expect(oenSeen[0]?.path).toContain(oen.orderId);
    expect(oenSeen[0]?.answeredAt).toBeGreaterThanOrEqual(oenSeen[0]?.receivedAt ?? Infinity);

    const [dropped, answered] = (await admin<{ timeline: TimelineEntry[] }>(mwdUrl, 'GET', `timeline?since=${before}`)).timeline;
    expect(dropped).toMatchObject({ route: 'refund' });
    expect(dropped?.path).toContain(mwd.orderId);
    expect(dropped).not.toHaveProperty('answeredAt');
    expect((answered?.answeredAt ?? 0) - (answered?.receivedAt ?? 0)).toBeGreaterThanOrEqual(39);

    expect((await admin<{ timeline: TimelineEntry[] }>(mwdUrl, 'GET', `timeline?since=${Date.now() + 1000}`)).timeline).toEqual([]);
    await admin(mwdUrl, 'POST', 'reset');
    expect((await admin<{ timeline: TimelineEntry[] }>(mwdUrl, 'GET', 'timeline')).timeline).toEqual([]);
  });

  it('keeps the last entries only, trimmed a tenth at a time', () => {
    const timeline = new Timeline(10);
    for (let i = 0; i < 11; i += 1) timeline.add('refund', `/r/${i}`);
    expect(timeline.since()).toHaveLength(11);
    timeline.add('refund', '/r/11');
    expect(timeline.since().map((e) => e.path)).toEqual(Array.from({ length: 10 }, (_, i) => `/r/${i + 2}`));
  });
});
