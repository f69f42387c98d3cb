import { describe, expect, it } from 'vitest';
import { codesVerdict } from '../../src/providers/mwd/client.js';
import { oenAnswerRule, oenRefusals } from '../../src/providers/oen/errors.js';

// What each provider answer means, judged without a server (the clients over real HTTP:
// test/providers/oen.test.ts, test/providers/mwd.test.ts).

describe('the Oen error table', () => {
  it('has every documented refusal code as final; F0001 alone is retryable', () => {
    expect(Object.keys(oenRefusals).sort()).toEqual(['A0001', 'T0001', 'T0002', 'T0003', 'T0004', 'T0005', 'V0001', 'V0002']);
    expect(Object.values(oenRefusals).every((rule) => rule.kind === 'final')).toBe(true);
    expect(oenAnswerRule(true, 500, 'F0001')).toMatchObject({ type: 'OenF0001', kind: 'retryable' });
  });

  it('flags every refusal code but V0002 as a refusal (V0002 is checked at Oen first)', () => {
    expect(
      Object.entries(oenRefusals)
        .filter(([, rule]) => rule.refusal)
        .map(([code]) => code)
        .sort(),
    ).toEqual(['A0001', 'T0001', 'T0002', 'T0003', 'T0004', 'T0005', 'V0001']);
  });

  it.each([
    // [write, HTTP status, envelope code, type, kind]
    [true, 400, 'V0001', 'OenV0001', 'final'],
    [true, 401, 'A0001', 'OenA0001', 'final'],
    [true, 400, 'T0004', 'OenT0004', 'final'],
    [true, 400, 'V0002', 'OenV0002', 'final'],
    [true, 200, 'V0001', 'OenV0001', 'final'],
    [true, 502, 'V0001', 'OenUnexpectedAnswer', 'unknown'],
    [true, 302, 'T0001', 'OenUnexpectedAnswer', 'unknown'],
    [true, 201, 'S0000', 'OenUnexpectedAnswer', 'unknown'],
    [true, 200, 'S0000', 'OenMalformedResponse', 'unknown'],
    [true, 200, undefined, 'OenMalformedResponse', 'unknown'],
    [true, 400, undefined, 'OenHttp400', 'unknown'],
    [true, 401, undefined, 'OenHttp401', 'unknown'],
    [true, 429, undefined, 'OenHttp429', 'unknown'],
    [true, 504, undefined, 'OenHttp504', 'unknown'],
    [true, 400, 'X9999', 'OenUnknownCode', 'unknown'],
    [false, 401, undefined, 'OenA0001', 'final'],
    [false, 200, 'A0001', 'OenA0001', 'final'],
    [false, 404, undefined, 'OenOrderNotFound', 'final'],
    [false, 400, 'V0001', 'OenListUnavailable', 'retryable'],
    [false, 200, undefined, 'OenListUnavailable', 'retryable'],
    [false, 503, undefined, 'OenListUnavailable', 'retryable'],
  ] as const)('write %s, HTTP %i, code %s: %s (%s)', (write, status, code, type, kind) => {
    expect(oenAnswerRule(write, status, code)).toMatchObject({ type, kind });
  });
});

describe("MWD's three codes together", () => {
  const ok = { RtnCode: '1000', ResponseParams: { ResultCode: '1000', ResultData: { RetCode: '00' } } };
  it.each([
    ['all three say success', ok, 'success'],
    ['RtnCode alone says success', { RtnCode: '1000' }, 'success'],
    ['all three say no', { RtnCode: '2004', ResponseParams: { ResultCode: '2004', ResultData: { RetCode: '05' } } }, 'refused'],
    ['RtnCode alone says no', { RtnCode: '2004' }, 'refused'],
    ['RtnCode success, ResultCode no', { RtnCode: '1000', ResponseParams: { ResultCode: '2004' } }, 'disagree'],
    ['RtnCode no, RetCode success', { RtnCode: '2004', ResponseParams: { ResultCode: '2004', ResultData: { RetCode: '00' } } }, 'disagree'],
  ] as const)('%s: %s', (_what, body, verdict) => {
    expect(codesVerdict(body as Parameters<typeof codesVerdict>[0])).toBe(verdict);
  });
});
