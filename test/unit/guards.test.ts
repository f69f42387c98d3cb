import { describe, expect, it } from 'vitest';
import { isRefundRecord, orderCancelledProblems, refundRequestProblems } from '../../src/domain/guards.js';
import { operatorInputProblems } from '../../src/domain/operator.js';
import { operatorInput } from '../../src/domain/schemas/operator.js';

// The zod-free checks workflow code makes of a run started by hand.
describe('workflow input guards', () => {
  it('accept a refund request of either provider', () => {
    expect(refundRequestProblems({ refundId: 'R1', provider: 'oen', orderId: 'O1', amount: 100, transactionHid: 'P1' })).toEqual([]);
    expect(refundRequestProblems({ refundId: 'R1', provider: 'mwd', orderId: 'O1', amount: 100, cardToken: 't' })).toEqual([]);
  });

  it('name each field a refund request gets wrong', () => {
    expect(refundRequestProblems(null)).toEqual(['(input): must be an object']);
    expect(refundRequestProblems({ provider: 'paypal' })).toEqual(['provider: must be "oen" or "mwd"']);
    expect(refundRequestProblems({ refundId: '', provider: 'oen', orderId: 'O1', amount: 1.5 })).toEqual([
      'refundId: must be a non-empty string',
      'amount: must be a positive whole number',
      'transactionHid: is required',
    ]);
  });

  it('check order.cancelled data and refund records', () => {
    expect(orderCancelledProblems({ orderId: 'O1', provider: 'oen' })).toEqual([]);
    expect(orderCancelledProblems({ orderId: 'O1', provider: 'mwd' })).toEqual(['provider: must be "oen"']);
    expect(isRefundRecord({ refundId: 'R1', status: 'failed', provider: 'oen', workflowId: 'w' })).toBe(true);
    expect(isRefundRecord({ message: 'no record' })).toBe(false);
  });
});

describe('operator input', () => {
  const cases: unknown[] = [
    undefined,
    {},
    { reason: 'ok', refundId: 'R1' },
    { refundId: '' },
    { reason: 'x'.repeat(501) },
    { reason: '' },
    { refundId: 7 },
    { who: 'Ann' },
    // Keys every object inherits are not fields the input takes.
    { toString: 'x' },
    { constructor: 'x' },
    'Ann',
  ];

  it.each(cases)('the run’s check and the API’s schema agree on %j', (input) => {
    const schema = input === undefined || operatorInput.safeParse(input).success;
    expect(operatorInputProblems(input).length === 0).toBe(schema);
  });

  it('the API refuses a free-text "by"; the run’s shape check still reads one (runs opened before decisions were signed carry it)', () => {
    expect(operatorInput.safeParse({ by: 'Ann' }).error?.issues.map((i) => i.message)).toEqual([
      'is no longer taken: the decision is recorded under the identity you signed in with',
    ]);
    expect(operatorInputProblems({ by: 'Ann' })).toEqual([]);
    expect(operatorInputProblems({ by: 7 })).toEqual(['by must be a string']);
    expect(operatorInputProblems({ by: 'x'.repeat(201) })).toEqual(['by must be at most 200 characters']);
  });
});
