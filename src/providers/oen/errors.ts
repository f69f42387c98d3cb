import { serverErrorRules, type ErrorRule } from '../errors.js';

/**
 * Oen's result codes (oen-payment-api.txt, "系統回應代碼對照表") and HTTP statuses, each mapped to
 * one failure type. Only F0001 and 5xx are transient (specs/README.md); every other code is final.
 */
export const oenCodeRules: Record<string, ErrorRule> = {
  A0001: { type: 'OenA0001', kind: 'final', meaning: 'unauthorised (check OEN_TOKEN)' },
  V0001: { type: 'OenV0001', kind: 'final', meaning: 'bad request' },
  V0002: { type: 'OenV0002', kind: 'final', meaning: 'wrong transaction state' },
  T0001: { type: 'OenT0001', kind: 'final', meaning: 'transaction failed' },
  T0002: { type: 'OenT0002', kind: 'final', meaning: 'CVV wrong' },
  T0003: { type: 'OenT0003', kind: 'final', meaning: 'card expired' },
  T0004: { type: 'OenT0004', kind: 'final', meaning: 'insufficient credit' },
  T0005: { type: 'OenT0005', kind: 'final', meaning: 'authorisation refused' },
  F0001: { type: 'OenF0001', kind: 'retryable', meaning: 'system error' },
};

export const oenStatusRules: Record<number, ErrorRule> = {
  400: { type: 'OenHttp400', kind: 'final', meaning: 'bad request' },
  401: { type: 'OenA0001', kind: 'final', meaning: 'unauthorised (check OEN_TOKEN)' },
  ...serverErrorRules('Oen'),
};

export const oenUnknownCode: ErrorRule = { type: 'OenUnknownCode', kind: 'final', meaning: 'a result code we do not know' };

export const oenUnexpectedStatus: ErrorRule = { type: 'OenUnexpectedStatus', kind: 'final', meaning: 'an unexpected HTTP status' };

/** A success we cannot read. For a refund it may still have happened: check before acting again. */
export function oenMalformed(mutating: boolean): ErrorRule {
  return mutating
    ? { type: 'OenMalformedResponse', kind: 'unknown', meaning: 'an answer we cannot read; the refund may have happened' }
    : { type: 'OenMalformedResponse', kind: 'final', meaning: 'an answer we cannot read' };
}

