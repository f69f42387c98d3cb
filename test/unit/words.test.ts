import { describe, expect, it } from 'vitest';
import { formatNtd, providerCallSummary } from '../../src/domain/format.js';
import { describeDecider } from '../../src/domain/operator.js';
import { oneRefundPerTransaction, receivedRecord } from '../../src/domain/refund-start.js';

// The words a refund is named with, each written once (src/domain/format.ts, operator.ts, refund-start.ts).

describe('formatNtd', () => {
  it.each([
    [55, 'NT$55'],
    [1000, 'NT$1,000'],
    [200_000, 'NT$200,000'],
    [100_000_000, 'NT$100,000,000'],
  ])('%d reads %s', (amount, text) => {
    expect(formatNtd(amount)).toBe(text);
  });
});

describe('providerCallSummary', () => {
  it('names the Oen transaction, or the MWD order, and the amount', () => {
    expect(providerCallSummary({ provider: 'oen', orderId: 'ORDER00001', transactionHid: 'P20240412CIK7KPPH', amount: 1000 })).toBe(
      'Oen refund P20240412CIK7KPPH NT$1,000',
    );
    expect(providerCallSummary({ provider: 'mwd', orderId: '202008170002', amount: 55 })).toBe('MWD refund order 202008170002 NT$55');
  });
});

describe('describeDecider', () => {
  it('names the role and the credential where the record has the role, else the name alone', () => {
    expect(describeDecider({ id: 'key:ann', name: 'ann', role: 'approver' })).toBe('ann (approver, key:ann)');
    expect(describeDecider({ id: 'temporal-update', name: 'someone with access to Temporal (unverified)' })).toBe(
      'someone with access to Temporal (unverified)',
    );
  });
});

describe('oneRefundPerTransaction', () => {
  it('names the refund that holds the transaction, or what else does', () => {
    expect(oneRefundPerTransaction('P1', { refundId: 'RF-1', status: 'succeeded' })).toBe(
      'Oen transaction P1 already has refund RF-1 (succeeded); Oen allows one refund per transaction',
    );
    expect(oneRefundPerTransaction('P1', 'a run started outside refundflow')).toBe(
      'Oen transaction P1 already has a run started outside refundflow; Oen allows one refund per transaction',
    );
  });
});

describe('receivedRecord', () => {
  it('is received, with no attempt, under the workflow id its run gets', () => {
    const at = '2026-11-22T08:00:00.000Z';
    expect(receivedRecord({ refundId: 'RF-1', provider: 'oen', orderId: 'O-1', transactionHid: 'P1', amount: 1000 }, at)).toEqual({
      refundId: 'RF-1',
      provider: 'oen',
      orderId: 'O-1',
      transactionHid: 'P1',
      amount: 1000,
      status: 'received',
      attempts: 0,
      createdAt: at,
      updatedAt: at,
      workflowId: 'oen-refund-P1',
    });
    expect(receivedRecord({ refundId: 'RF-2', provider: 'mwd', orderId: 'O-2', cardToken: 't', amount: 55 }, at)).not.toHaveProperty('transactionHid');
  });
});
