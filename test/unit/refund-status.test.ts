import { describe, expect, it } from 'vitest';
import { closedWithoutRefund, finalStatuses, mayMove, refundStatuses, type refundMoves } from '../../src/domain/refund-status.js';

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
        'failed→requires_attention',
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

  it('no writer moves a refund back to received, or out of cancelled; out of failed only reconciliation, to a person (a refund id ends once: nothing sends it again)', () => {
    for (const writer of ['run', 'reconciliation', 'resolution'] as const) {
      for (const status of refundStatuses) {
        expect(mayMove(writer, status, 'received')).toBe(false);
        expect(mayMove(writer, 'cancelled', status)).toBe(false);
      }
    }
    expect(refundStatuses.filter((to) => mayMove('run', 'failed', to))).toEqual([]);
    expect(refundStatuses.filter((to) => mayMove('resolution', 'failed', to))).toEqual([]);
    // Oen shows a refund the ledger holds as failed (a late refund): a person must know.
    expect(refundStatuses.filter((to) => mayMove('reconciliation', 'failed', to))).toEqual(['requires_attention']);
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
