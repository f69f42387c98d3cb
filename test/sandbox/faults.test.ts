import { describe, expect, it } from 'vitest';
import { Faults } from '../../src/sandbox/faults.js';

describe('sandbox fault injection', () => {
  it('serves queued faults first, one per request, then the real answer', () => {
    const faults = new Faults(['refund'] as const, () => 0.99);
    faults.set({ refund: { next: ['f0001', 'f0001', 'http500'], latencyMs: 5 } });
    expect([1, 2, 3, 4].map(() => faults.decide('refund'))).toEqual([
      { action: 'f0001', latencyMs: 5 },
      { action: 'f0001', latencyMs: 5 },
      { action: 'http500', latencyMs: 5 },
      { action: undefined, latencyMs: 5 },
    ]);
  });

  it('draws faults by their rates', () => {
    const rolls = [0.05, 0.15, 0.25, 0.35, 0.95];
    const faults = new Faults(['refund'] as const, () => rolls.shift() ?? 0.99);
    faults.set({ refund: { f0001: 0.1, http500: 0.1, hang: 0.1, commitThenDrop: 0.1 } });
    expect([1, 2, 3, 4, 5].map(() => faults.decide('refund').action)).toEqual(['f0001', 'http500', 'hang', 'commitThenDrop', undefined]);
  });

  it('refuses rates over 1 in sum, unknown routes and unknown fields', () => {
    const faults = new Faults(['refund'] as const);
    expect(() => faults.set({ refund: { f0001: 0.6, http500: 0.6 } })).toThrow(/add up to more than 1/);
    expect(() => faults.set({ charge: {} })).toThrow();
    expect(() => faults.set({ refund: { dropRate: 0.1 } })).toThrow();
  });

  it('leaves routes without a configuration alone', () => {
    const faults = new Faults(['refund', 'listTransactions'] as const, () => 0);
    faults.set({ refund: { http500: 1 } });
    expect(faults.decide('listTransactions')).toEqual({ action: undefined, latencyMs: 0 });
    expect(faults.decide('refund').action).toBe('http500');
  });
});
