import { describe, expect, it } from 'vitest';
import { inboundEvent, parseInboundEvent } from '../../src/domain/schemas/events.js';

// The inbound event parser, without a server (the API over real HTTP: test/api/events.test.ts).
const refund = { refundId: 'RF-1', provider: 'oen', orderId: 'O-1', amount: 100, transactionHid: 'P20240412CIK7KPPH' };
const envelope = { specversion: '1.0', id: 'evt-1', source: 'order-management', type: 'refund.requested', data: refund };

describe('parseInboundEvent', () => {
  it('accepts a CloudEvent and keeps what the engine needs of it', () => {
    expect(parseInboundEvent(envelope)).toEqual({ ok: true, event: { id: 'evt-1', source: 'order-management', type: 'refund.requested', data: refund } });
  });

  it('names every problem by its field, in the envelope and in data', () => {
    const parsed = parseInboundEvent({ ...envelope, specversion: '0.3', data: { ...refund, amount: 1.5, extra: true } });
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.problems.map((p) => p.field).sort()).toEqual(['data', 'data.amount', 'specversion']);
  });

  it('refuses what PostgreSQL cannot store, and what is not an object', () => {
    expect(parseInboundEvent({ ...envelope, data: { ...refund, reason: 'a\u0000b' } })).toMatchObject({ ok: false, problems: [{ field: 'data.reason' }] });
    expect(parseInboundEvent([])).toMatchObject({ ok: false, problems: [{ field: '(body)' }] });
  });

  it('an accepted event reads back with the stored event schema, with no envelope invented', () => {
    const parsed = parseInboundEvent(envelope);
    if (!parsed.ok) throw new Error('the envelope above is valid');
    expect(inboundEvent.parse(JSON.parse(JSON.stringify(parsed.event)))).toEqual(parsed.event);
    expect(inboundEvent.safeParse({ id: 'evt-1', source: 's', type: 'refund.requested', data: { ...refund, amount: -1 } }).success).toBe(false);
  });
});
