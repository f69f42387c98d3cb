import { describe, expect, it } from 'vitest';
import { codes } from '../../src/domain/failures.js';
import { providerCallEnd } from '../../src/domain/provider-call.js';
import { finalErrorTypes, refusalTypes } from '../../src/providers/final-error-types.js';
import type { ErrorRule } from '../../src/providers/errors.js';
import * as mwdErrors from '../../src/providers/mwd/errors.js';
import * as oenErrors from '../../src/providers/oen/errors.js';

// The pure decision of how a provider call ends a refund (money-safety rule 6), without a server.
const types = { refusals: refusalTypes };
const end = (cause: Parameters<typeof providerCallEnd>[0]) => providerCallEnd(cause, types, 60_000, 'activity timed out');

describe('providerCallEnd', () => {
  it.each(refusalTypes)('a final %s refusal ends the refund failed', (type) => {
    expect(end({ type, nonRetryable: true, message: 'refused' })).toEqual({ status: 'failed', code: type, message: 'refused' });
  });

  it('a refusal type that arrives retryable is not a refusal: requires_attention', () => {
    expect(end({ type: refusalTypes[0], nonRetryable: false, message: 'x' }).status).toBe('requires_attention');
  });

  it.each(['OenV0002', 'OenOrderNotFound', 'OenCheckFailed', 'MwdCodesDisagree', 'MwdRefundMismatch', 'OenHttp504', 'Whatever'])(
    'any other final failure (%s) is requires_attention, never failed',
    (type) => {
      expect(end({ type, nonRetryable: true, message: 'm' })).toEqual({ status: 'requires_attention', code: type, message: 'm' });
    },
  );

  it('the retry window passing carries the provider failure type as the code', () => {
    expect(end({ type: codes.RetryWindowPassed, nonRetryable: true, message: 'still failing', details: [{ code: 'OenF0001' }] })).toEqual({
      status: 'requires_attention',
      code: 'OenF0001',
      message: 'still failing',
    });
    expect(end({ type: codes.RetryWindowPassed, nonRetryable: true, message: 'still failing' }).code).toBe('ProviderUnavailable');
  });

  it('retries that ran out, or no provider failure at all (a timeout), are requires_attention with the window named', () => {
    expect(end({ type: 'MwdHttp500', nonRetryable: false, message: 'server error' })).toEqual({
      status: 'requires_attention',
      code: 'MwdHttp500',
      message: 'The provider kept failing for 60 s, so nothing more is sent until a person settles this refund (its last failure: server error)',
    });
    expect(end(undefined)).toEqual({
      status: 'requires_attention',
      code: 'ProviderUnavailable',
      message: 'The provider kept failing for 60 s, so nothing more is sent until a person settles this refund (its last failure: activity timed out)',
    });
  });
});

/** Every fixed rule a provider's errors module exports, alone or in a record of rules (oenRefusals). */
function exportedRules(module: Record<string, unknown>): ErrorRule[] {
  const isRule = (value: unknown): value is ErrorRule =>
    typeof value === 'object' && value !== null && typeof (value as ErrorRule).type === 'string' && typeof (value as ErrorRule).kind === 'string';
  return Object.values(module).flatMap((value) =>
    isRule(value) ? [value] : typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.values(value).filter(isRule) : [],
  );
}

describe('the providers’ failure types', () => {
  it.each([
    ['Oen', oenErrors, oenErrors.oenRules],
    ['MWD', mwdErrors, mwdErrors.mwdRules],
  ] as const)('every fixed rule %s exports is in its rule list, so finalErrorTypes cannot miss one', (_name, module, rules) => {
    const exported = exportedRules(module);
    expect(exported.length).toBeGreaterThan(3);
    for (const rule of exported) expect(rules).toContain(rule);
    for (const rule of rules.filter((r) => r.kind === 'final')) expect(finalErrorTypes).toContain(rule.type);
  });

  it('every refusal is final; Oen V0002 is final but never a refusal (it is checked first)', () => {
    for (const type of refusalTypes) expect(finalErrorTypes).toContain(type);
    expect(finalErrorTypes).toContain('OenV0002');
    expect(refusalTypes).not.toContain('OenV0002');
    expect([...refusalTypes].sort()).toEqual(['MwdRefused', 'OenA0001', 'OenT0001', 'OenT0002', 'OenT0003', 'OenT0004', 'OenT0005', 'OenV0001']);
  });
});
