import { describe, expect, it } from 'vitest';
import { describeResolution, oenContradiction, resolveInputProblems, resolutionLimits, type Resolution } from '../../src/domain/resolution.js';

// What a resolution run checks of its input, and what Oen's evidence allows of a resolution: pure, without a server.
describe('a resolution run’s input', () => {
  it('takes each kind of resolution, with or without a proof (the proof is checked against the worker’s keys)', () => {
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: { outcome: 'succeeded', providerReference: 'P1', evidence: 'back office shows it' } })).toEqual(
      [],
    );
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: { outcome: 'failed', evidence: 'card closed' }, proof: { any: 'thing' } })).toEqual([]);
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: { action: 'retry' } })).toEqual([]);
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: { action: 'retry', reason: 'customer asked' } })).toEqual([]);
  });

  it('names each field it gets wrong', () => {
    expect(resolveInputProblems('RF-1')).toEqual(['(input): must be an object: {"refundId": "…", "resolution": {…}, "proof": {…}}']);
    expect(resolveInputProblems({ resolution: { outcome: 'maybe' }, by: 'ann' })).toEqual([
      'by: is not a field it takes',
      'refundId: is required',
      'resolution.outcome: must be "succeeded" or "failed" (or give {"action": "retry"})',
    ]);
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: { outcome: 'succeeded', evidence: ' ' } })).toEqual([
      'resolution.providerReference: is required',
      'resolution.evidence: must not be empty',
    ]);
    expect(
      resolveInputProblems({
        refundId: 'RF-1',
        resolution: { outcome: 'failed', evidence: 'x'.repeat(resolutionLimits.evidence + 1), providerReference: 'P' },
      }),
    ).toEqual(['resolution.providerReference: is not a field it takes', `resolution.evidence: must be at most ${resolutionLimits.evidence} characters`]);
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: { action: 'resend', reason: 7 } })).toEqual([
      'resolution.action: must be "retry"',
      'resolution.reason: must be a string',
    ]);
    expect(resolveInputProblems({ refundId: 'RF-1', resolution: [] })).toEqual(['resolution: must be an object: {"outcome": …} or {"action": "retry"}']);
  });
});

describe('what Oen’s evidence allows of a resolution', () => {
  const succeeded: Resolution = { outcome: 'succeeded', providerReference: 'P1', evidence: 'e' };
  const failed: Resolution = { outcome: 'failed', evidence: 'e' };
  const retry: Resolution = { action: 'retry' };
  const verdict = (resolution: Resolution, kind: 'refunded' | 'charged' | 'unexplained') => oenContradiction(resolution, { kind, evidence: 'Oen lists …' });

  it('succeeded only when Oen shows the refund; failed and a retry only when it shows the transaction still charged, nothing refunded', () => {
    expect(verdict(succeeded, 'refunded')).toBeUndefined();
    expect(verdict(failed, 'charged')).toBeUndefined();
    expect(verdict(retry, 'charged')).toBeUndefined();
  });

  it('refuses anything else, saying what Oen shows and what to do instead', () => {
    expect(verdict(succeeded, 'charged')).toBe(
      'Oen shows the transaction still charged with nothing refunded, so it is not resolved as succeeded: resolve it as failed, or send it again (Oen lists …)',
    );
    expect(verdict(failed, 'refunded')).toBe('Oen shows it refunded: resolve it as succeeded (Oen lists …)');
    expect(verdict(retry, 'refunded')).toBe('Oen shows it refunded: resolve it as succeeded (Oen lists …)');
    expect(verdict(succeeded, 'unexplained')).toMatch(
      /^Oen shows neither this refund nor the transaction still charged .*, so it is not resolved as succeeded: Oen lists …$/,
    );
    expect(verdict(failed, 'unexplained')).toMatch(/so it is not resolved as failed: /);
    expect(verdict(retry, 'unexplained')).toMatch(/so it is not sent again: /);
  });

  it('reads each resolution for the decision’s record', () => {
    expect(describeResolution(succeeded)).toBe('as succeeded (reference P1)');
    expect(describeResolution(failed)).toBe('as failed');
    expect(describeResolution(retry)).toBe('sent again');
    expect(describeResolution({ action: 'retry', reason: 'customer asked' })).toBe('sent again: customer asked');
  });
});
