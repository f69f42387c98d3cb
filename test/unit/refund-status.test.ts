import { describe, expect, it } from 'vitest';
import { closedWithoutRefund, finalStatuses, mayMove, refundStatuses, type refundMoves, type RefundStatus } from '../../src/domain/refund-status.js';

// The status machine: one table of moves (src/domain/refund-status.ts), checked without a database.
const all = (writer: keyof typeof refundMoves) =>
  refundStatuses.flatMap((from) => refundStatuses.filter((to) => mayMove(writer, from, to)).map((to) => `${from}→${to}`));

describe('the refund status machine', () => {
  it("a refund's run makes exactly these moves", () => {
    expect(all('run').sort()).toEqual(
      [
        'received→awaiting_approval',
        'received→submitting',
        'awaiting_approval→submitting',
        'submitting→succeeded',
        'requires_attention→succeeded',
        'received→failed',
        'submitting→failed',
        'requires_attention→failed',
        'submitting→requires_attention',
        'received→cancelled',
        'awaiting_approval→cancelled',
      ].sort(),
    );
  });

  it('reconciliation makes exactly these moves', () => {
    expect(all('reconciliation').sort()).toEqual(
      [
        'received→cancelled',
        'awaiting_approval→cancelled',
        'submitting→succeeded',
        'requires_attention→succeeded',
        'succeeded→requires_attention',
        'submitting→requires_attention',
        'requires_attention→submitting',
        'submitting→submitting',
      ].sort(),
    );
  });

  it("a person's resolution makes exactly these moves: from requires_attention, and the end of the send it asked for", () => {
    expect(all('resolution').sort()).toEqual(
      [
        'requires_attention→succeeded',
        'requires_attention→failed',
        'requires_attention→submitting',
        'submitting→succeeded',
        'submitting→failed',
        'submitting→requires_attention',
      ].sort(),
    );
  });

  it('no writer moves a refund back to received, or out of failed or cancelled (a refund id ends once)', () => {
    for (const writer of ['run', 'reconciliation', 'resolution'] as const) {
      for (const status of refundStatuses) {
        expect(mayMove(writer, status, 'received')).toBe(false);
        for (const ended of ['failed', 'cancelled'] as RefundStatus[]) expect(mayMove(writer, ended, status)).toBe(false);
      }
    }
  });

  it('only reconciliation, on the provider’s evidence, moves a succeeded refund (to requires_attention)', () => {
    expect(refundStatuses.filter((to) => mayMove('run', 'succeeded', to))).toEqual([]);
    expect(refundStatuses.filter((to) => mayMove('resolution', 'succeeded', to))).toEqual([]);
    expect(refundStatuses.filter((to) => mayMove('reconciliation', 'succeeded', to))).toEqual(['requires_attention']);
  });

  it('final statuses exclude requires_attention; closed-without-refund ones are final', () => {
    expect(finalStatuses).not.toContain('requires_attention');
    for (const status of closedWithoutRefund) expect(finalStatuses).toContain(status);
  });
});
