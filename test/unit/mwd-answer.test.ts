import { describe, expect, it } from 'vitest';
import { mwdFailureOutcome } from '../../src/activities/mwd.js';
import { bankAnswerMissing, codesVerdict } from '../../src/providers/mwd/client.js';
import { ProviderError } from '../../src/providers/errors.js';
import { mwdCodesDisagree, mwdNoBankAnswer, mwdRefused, mwdServerError } from '../../src/providers/mwd/errors.js';
import { mwdRefundResponse } from '../../src/providers/mwd/schemas.js';

// What an MWD answer means for a refund, judged without a server (over real HTTP:
// test/providers/mwd.test.ts; through the engine: test/fault-model).

describe("MWD's request to the bank without the bank's answer", () => {
  const request = { RequestParams: { MerchantTradeNo: 'M1', TradeType: '5' } };
  it.each([
    ['a refusal with OriRequestParams, without ResponseParams', { RtnCode: '9999', OriRequestParams: request }, true],
    ['an empty OriRequestParams still says the bank was asked', { RtnCode: '9999', OriRequestParams: {} }, true],
    ["with the bank's answer", { RtnCode: '2012', OriRequestParams: request, ResponseParams: { ResultCode: '2012' } }, false],
    ["the gateway's own refusal (no OriRequestParams)", { RtnCode: '2002' }, false],
    ['OriRequestParams null, as a serializer writes what it has not got', { RtnCode: '2002', OriRequestParams: null }, false],
  ] as const)('%s: %s', (_what, body, missing) => {
    const parsed = mwdRefundResponse.parse(body);
    expect(bankAnswerMissing(parsed)).toBe(missing);
  });

  it('keeps what names the trade and drops the CardToken echoed in it', () => {
    const parsed = mwdRefundResponse.parse({
      RtnCode: '9999',
      OriRequestParams: {
        ApiVer: '1.0.2',
        CheckSum: 'C',
        Random: 'R',
        RequestParams: { MerchantTradeNo: 'M1', CardToken: 'tok-secret', TradeAmount: '5500', Remark1: null, ResultUrl: 'u' },
      },
    });
    expect(parsed.OriRequestParams).toEqual({ ApiVer: '1.0.2', RequestParams: { MerchantTradeNo: 'M1', TradeAmount: '5500' } });
  });

  it('a field of another shape is dropped, never the answer: a success stays readable', () => {
    const parsed = mwdRefundResponse.parse({ RtnCode: '1000', OriRequestParams: { ApiVer: 1, RequestParams: { TradeAmount: 5500, TradeType: '5' } } });
    expect(parsed.OriRequestParams).toEqual({ RequestParams: { TradeType: '5' } });
  });

  it.each([
    ['a string', 'sent'],
    ['a list', []],
  ])('an OriRequestParams that is %s is still a request to the bank', (_what, value) => {
    expect(bankAnswerMissing(mwdRefundResponse.parse({ RtnCode: '9999', OriRequestParams: value }))).toBe(true);
  });

  it('masks a card number wherever MWD put one', () => {
    const parsed = mwdRefundResponse.parse({ RtnCode: '9999', OriRequestParams: { RequestParams: { MerchantTradeNo: '4242424242424242' } } });
    expect(parsed.OriRequestParams?.RequestParams?.MerchantTradeNo).toBe('****4242');
  });

  it('is a refusal by its codes, which is why it is checked before them', () => {
    expect(codesVerdict(mwdRefundResponse.parse({ RtnCode: '9999', OriRequestParams: request }))).toBe('refused');
  });
});

describe('mwdFailureOutcome: what a failed send means, given the sends before it', () => {
  const error = (rule: ConstructorParameters<typeof ProviderError>[1]) => new ProviderError('mwd', rule, { httpStatus: 200, code: 'RtnCode 2012' });

  it('a refusal of the first send is final: Temporal ends the call, and the refund is failed', () => {
    expect(mwdFailureOutcome(error(mwdRefused), 0)).toBeUndefined();
  });

  it.each([1, 3])('a refusal after %i earlier sends goes to a person: the earlier send may have refunded', (earlier) => {
    expect(mwdFailureOutcome(error(mwdRefused), earlier)).toMatchObject({ outcome: 'requires_attention', code: 'MwdRefusedAfterResend' });
  });

  it.each([mwdNoBankAnswer, mwdCodesDisagree])('an unknown outcome ($type) goes to a person under its own type, first send or not', (rule) => {
    for (const earlier of [0, 1]) {
      expect(mwdFailureOutcome(error(rule), earlier)).toMatchObject({ outcome: 'requires_attention', code: rule.type });
    }
  });

  it('HTTP 500 is left to Temporal to retry (the design card), after earlier sends too', () => {
    expect(mwdFailureOutcome(error(mwdServerError), 0)).toBeUndefined();
    expect(mwdFailureOutcome(error(mwdServerError), 2)).toBeUndefined();
  });
});
