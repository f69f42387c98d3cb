import { describe, expect, it } from 'vitest';
import { Faults } from '../../src/sandbox/faults.js';

const named = (faults: Faults<'refund'>) => faults.pick('refund').fault?.name;

describe('sandbox fault injection', () => {
  it('serves queued faults first, one per request, then the real answer', () => {
    const faults = new Faults(['refund'] as const, () => 0.99);
    faults.set({ refund: { next: ['hang', 'hang', 'http500'], latencyMs: 5 } });
    expect([1, 2, 3, 4].map(() => faults.pick('refund'))).toEqual([
      { fault: { name: 'hang', commit: false, then: 'hang' }, latencyMs: 5 },
      { fault: { name: 'hang', commit: false, then: 'hang' }, latencyMs: 5 },
      { fault: { name: 'http500', commit: false, then: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' }, latencyMs: 5 },
      { latencyMs: 5 },
    ]);
  });

  it('takes a fault written out in full: commit or not, then any status, body and headers', () => {
    const faults = new Faults(['refund'] as const);
    faults.set({ refund: { next: [{ commit: true, status: 302, headers: { Location: 'https://elsewhere.invalid/' } }, { then: 'truncate' }] } });
    expect(faults.pick('refund').fault).toEqual({
      name: 'commit, then 302',
      commit: true,
      then: 'answer',
      status: 302,
      headers: { Location: 'https://elsewhere.invalid/' },
    });
    expect(faults.pick('refund').fault).toEqual({ name: 'no commit, then truncate', commit: false, then: 'truncate' });
  });

  it('draws faults by their rates', () => {
    const rolls = [0.05, 0.15, 0.25, 0.35, 0.45, 0.95];
    const faults = new Faults(['refund'] as const, () => rolls.shift() ?? 0.99);
    faults.set({ refund: { http500: 0.1, hang: 0.1, commitThenDrop: 0.1, gateway504AfterCommit: 0.1, http429: 0.1 } });
    expect([1, 2, 3, 4, 5, 6].map(() => named(faults))).toEqual(['http500', 'hang', 'commitThenDrop', 'gateway504AfterCommit', 'http429', undefined]);
  });

  it('knows the named faults an emulator adds (Oen: f0001), and only those', () => {
    const oen = new Faults(['refund'] as const, () => 0, { f0001: { commit: false, then: 'answer', status: 500, body: '{"code":"F0001"}' } });
    oen.set({ refund: { f0001: 1 } });
    expect(oen.pick('refund').fault).toMatchObject({ name: 'f0001', status: 500, body: '{"code":"F0001"}' });
    expect(() => new Faults(['refund'] as const).set({ refund: { f0001: 1 } })).toThrow();
  });

  it('refuses rates over 1 in sum, unknown routes, unknown fields and faults it cannot serve', () => {
    const faults = new Faults(['refund'] as const);
    expect(() => faults.set({ refund: { hang: 0.6, http500: 0.6 } })).toThrow(/add up to more than 1/);
    expect(() => faults.set({ charge: {} })).toThrow();
    expect(() => faults.set({ refund: { dropRate: 0.1 } })).toThrow();
    expect(() => faults.set({ refund: { next: [{ status: 700 }] } })).toThrow();
    expect(() => faults.set({ refund: { next: [{ then: 'explode' }] } })).toThrow();
  });

  it('leaves routes without a configuration alone', () => {
    const faults = new Faults(['refund', 'listTransactions'] as const, () => 0);
    faults.set({ refund: { http500: 1 } });
    expect(faults.pick('listTransactions')).toEqual({ latencyMs: 0 });
    expect(faults.pick('refund').fault?.name).toBe('http500');
  });
});
