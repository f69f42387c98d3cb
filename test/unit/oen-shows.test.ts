import { describe, expect, it } from 'vitest';
import type { OenTransaction } from '../../src/providers/oen/schemas.js';
import { oenShows } from '../../src/providers/oen/shows.js';

// What Oen's list shows about a refund of ours (src/providers/oen/shows.ts), without a server.
const refund = { transactionHid: 'P1', orderId: 'ORDER1', amount: 1000 };
const transaction = (fields: Partial<OenTransaction> = {}): OenTransaction => ({
  id: 'P1',
  action: 'charge',
  amount: 1000,
  status: 'charged',
  orderId: 'ORDER1',
  createdAt: '2026-11-29T08:00:00Z',
  refundAmount: 0,
  paymentInfo: { method: 'card' },
  ...fields,
});

describe('oenShows', () => {
  it('still charged, nothing refunded: charged, in words a person can read', () => {
    expect(oenShows([transaction()], refund)).toEqual({
      kind: 'charged',
      evidence: 'Oen lists P1 under order ORDER1: status "charged", NT$1,000 charged, nothing refunded',
    });
  });

  it('refunded by our amount: refunded', () => {
    expect(oenShows([transaction({ id: 'P0' }), transaction({ status: 'refunded', refundAmount: 1000, refundedAt: '2026-11-29T09:00:00Z' })], refund)).toEqual({
      kind: 'refunded',
      evidence: 'Oen lists P1 under order ORDER1: status "refunded", NT$1,000 charged, NT$1,000 refunded at 2026-11-29T09:00:00Z',
    });
  });

  it('refunded by another amount, a status nobody documents, or not listed: unexplained, saying what', () => {
    expect(oenShows([transaction({ status: 'refunded', refundAmount: 400 })], refund)).toEqual({
      kind: 'unexplained',
      evidence: 'Oen shows NT$400 refunded on P1 (status refunded), but this refund is NT$1,000',
    });
    expect(oenShows([transaction({ status: 'charged', refundAmount: 400 })], refund).kind).toBe('unexplained');
    expect(oenShows([transaction({ status: 'pending' })], refund)).toEqual({ kind: 'unexplained', evidence: 'Oen shows transaction P1 as "pending"' });
    expect(oenShows([transaction({ id: 'P2' })], refund)).toEqual({ kind: 'unexplained', evidence: 'Oen does not list transaction P1 under order ORDER1' });
  });

  it('a payment not by card is unexplained only for a check that may send (cardPaymentsOnly): a refund already made is judged by its state', () => {
    const atm = transaction({ paymentInfo: { method: 'atm' } });
    expect(oenShows([atm], refund, { cardPaymentsOnly: true })).toEqual({
      kind: 'unexplained',
      evidence: "transaction P1 was paid by atm: ATM/CVS payments must be refunded by a person in Oen's CRM back office",
    });
    expect(oenShows([atm], refund).kind).toBe('charged');
    expect(oenShows([transaction({ paymentInfo: undefined, status: 'refunded', refundAmount: 1000 })], refund).kind).toBe('refunded');
  });
});
