import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findPans } from '../../src/domain/pan.js';
import { toMwdAmount } from '../../src/providers/mwd/amount.js';
import { MwdClient } from '../../src/providers/mwd/client.js';
import type { TokenProvider } from '../../src/providers/http.js';
import { SANDBOX_TOKEN } from '../../src/sandbox/index.js';
import { providerFailure } from '../helpers/errors.js';
import { rawServer } from '../helpers/raw-server.js';
import { admin, sandboxRefunds, useSandboxes } from '../helpers/sandbox.js';

const sandboxes = useSandboxes();
const ORDER = '202008170002';
const CARD_TOKEN = '45dec174-3f16-471b-8cd2-d79ee9cf9ac2_0176352482860745';

function client(overrides: { token?: string | TokenProvider; timeoutMs?: number; baseUrl?: string } = {}): MwdClient {
  return new MwdClient({
    baseUrl: overrides.baseUrl ?? sandboxes().mwdUrl,
    token: overrides.token ?? SANDBOX_TOKEN,
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
}

async function faults(body: unknown): Promise<void> {
  await admin(sandboxes().mwdUrl, 'PUT', 'faults', body);
}

describe('MWD amounts: strings with two implied decimals', () => {
  it('NT$55 is "5500" (MWD\'s echo of it is compared as the string we sent)', () => {
    expect(toMwdAmount(55)).toBe('5500');
    expect(toMwdAmount(1)).toBe('100');
  });

  it('refuses amounts that are not positive whole dollars', () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => toMwdAmount(bad)).toThrow(RangeError);
  });
});

describe('MwdClient against the MWD sandbox, over HTTP', () => {
  it('refunds the document’s example order and reads the answer', async () => {
    const result = await client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 });
    expect(result).toMatchObject({ orderId: ORDER, amount: 55, tradeType: '5', paymentType: '04', cardLast4: '2708' });
    expect(result.serviceTradeNo).toMatch(/^MW\d{18}$/);
    expect(result.merchantTradeNo).toMatch(new RegExp(`^${ORDER}_refund_\\d+$`));
    expect(JSON.stringify(result)).not.toContain(CARD_TOKEN);
    expect(await sandboxRefunds(sandboxes().mwdUrl)).toMatchObject([{ provider: 'mwd', reference: ORDER, amount: 55 }]);
  });

  it('takes its bearer token through the token provider, asked on every call', async () => {
    let asked = 0;
    const provider: TokenProvider = {
      token: () => {
        asked += 1;
        return Promise.resolve(SANDBOX_TOKEN);
      },
    };
    await client({ token: provider }).refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 });
    expect(asked).toBe(1);
  });

  describe('refusals are final when every code MWD gives agrees on them', () => {
    it('RtnCode: an unknown order or a card token that does not match', async () => {
      const unknown = await providerFailure(client().refund('209912310001', { cardToken: CARD_TOKEN, amount: 55 }));
      expect(unknown).toMatchObject({ type: 'MwdRefused', kind: 'final', details: { code: 'RtnCode 2002' } });
      const wrongCard = await providerFailure(client().refund(ORDER, { cardToken: 'other-token', amount: 55 }));
      expect(wrongCard).toMatchObject({ type: 'MwdRefused', details: { code: 'RtnCode 2003' } });
    });

    it('RtnCode and ResultCode: a second refund of the order (an option of the emulator, on by default)', async () => {
      await client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 });
      const second = await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }));
      expect(second).toMatchObject({ type: 'MwdRefused', kind: 'final' });
      expect(second.details.code).toBe('RtnCode 2001, ResultCode 2001');
      expect(await sandboxRefunds(sandboxes().mwdUrl)).toHaveLength(1);
    });

    it('an order may make its own choice: refused while the option carries second refunds out, and the other way round', async () => {
      await admin(sandboxes().mwdUrl, 'PUT', 'options', { refuseSecondRefund: false });
      await admin(sandboxes().mwdUrl, 'POST', 'seed', { orders: [{ orderId: '202008170009', cardToken: CARD_TOKEN, amount: 55, refuseSecondRefund: true }] });
      await client().refund('202008170009', { cardToken: CARD_TOKEN, amount: 55 });
      expect(await providerFailure(client().refund('202008170009', { cardToken: CARD_TOKEN, amount: 55 }))).toMatchObject({ type: 'MwdRefused' });
      await client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 });
      await client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 });
      expect((await sandboxRefunds(sandboxes().mwdUrl)).map((r) => r.reference)).toEqual(['202008170009', ORDER, ORDER]);
    });

    it('RtnCode, ResultCode and RetCode: an amount over the original', async () => {
      const over = await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 56 }));
      expect(over).toMatchObject({ type: 'MwdRefused', kind: 'final' });
      expect(over.details.code).toBe('RtnCode 2012, ResultCode 2012, RetCode 12');
      expect(await sandboxRefunds(sandboxes().mwdUrl)).toEqual([]);
    });

    it('HTTP 401 with MWD’s refusal for a wrong token, without the token in the error', async () => {
      const err = await providerFailure(client({ token: 'wrong-secret-token' }).refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }));
      expect(err).toMatchObject({ type: 'MwdRefused', kind: 'final', details: { httpStatus: 401, code: 'RtnCode 401' } });
      expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('wrong-secret-token');
    });
  });

  describe('failures', () => {
    it('HTTP 500 is retryable: MWD answered that it did not refund', async () => {
      await faults({ refund: { next: ['http500'] } });
      expect(await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }))).toMatchObject({
        type: 'MwdHttp500',
        kind: 'retryable',
      });
      expect(await sandboxRefunds(sandboxes().mwdUrl)).toEqual([]);
    });

    it('no answer at all (hang, then timeout) is an unknown outcome', async () => {
      await faults({ refund: { next: ['hang'] } });
      expect(await providerFailure(client({ timeoutMs: 300 }).refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }))).toMatchObject({
        type: 'MwdOutcomeUnknown',
        kind: 'unknown',
      });
    });

    it('commit-then-drop: refunded at MWD, unknown to us', async () => {
      await faults({ refund: { next: ['commitThenDrop'] } });
      expect(await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }))).toMatchObject({
        type: 'MwdOutcomeUnknown',
        kind: 'unknown',
      });
      expect(await sandboxRefunds(sandboxes().mwdUrl)).toHaveLength(1);
    });

    it('half an answer when there is nothing to cut (nothing done): a length announced and never sent', async () => {
      await faults({ refund: { next: [{ then: 'truncate' }] } });
      expect(await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }))).toMatchObject({
        type: 'MwdOutcomeUnknown',
        kind: 'unknown',
      });
      expect(await sandboxRefunds(sandboxes().mwdUrl)).toEqual([]);
    });

    it('the emulator refuses faults MWD has no such thing as (F0001 is Oen’s)', async () => {
      await expect(faults({ refund: { f0001: 0.5 } })).rejects.toThrow(/Unrecognized key: \\"f0001\\"/);
    });
  });
});

describe("a refusal after MWD sent the refund to the bank (OriRequestParams) without the bank's answer (ResponseParams)", () => {
  // A card number where MWD has free text, to show none survives into the error.
  const bankRequest = {
    ApiVer: '1.0.2',
    RequestParams: {
      MerchantTradeNo: `${ORDER}_refund_120757785`,
      TradeAmount: '5500',
      CardToken: CARD_TOKEN,
      TradeType: '5',
      OriMerchantTradeNo: ORDER,
      Remark1: '4242424242424242',
    },
    CheckSum: 'X',
  };
  const lost = (status: number, commit: boolean) => ({
    commit,
    then: 'answer',
    status,
    body: JSON.stringify({ RtnCode: '9999', RtnMessage: 'timeout at 4000000000002503', OriRequestParams: bankRequest }),
  });

  it.each([
    [200, false],
    [200, true],
    [500, false],
    [500, true],
    [400, true],
  ])('HTTP %i, the bank had refunded: %s — never a refusal, never retried; what MWD asked the bank is named', async (status, commit) => {
    await faults({ refund: { next: [lost(status, commit)] } });
    const err = await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }));
    expect(err).toMatchObject({ type: 'MwdNoBankAnswer', kind: 'unknown', refusal: false, details: { httpStatus: status, code: 'RtnCode 9999' } });
    expect(err.message).toContain(`MerchantTradeNo "${ORDER}_refund_120757785", OriMerchantTradeNo "${ORDER}", TradeType "5", TradeAmount "5500"`);
    const everything = `${err.message} ${JSON.stringify(err)}`;
    expect(everything).not.toContain(CARD_TOKEN);
    expect(findPans(everything)).toEqual([]);
    expect(await sandboxRefunds(sandboxes().mwdUrl)).toHaveLength(commit ? 1 : 0);
  });

  it.each([
    [
      "with the bank's refusal (ResponseParams)",
      { RtnCode: '2012', OriRequestParams: bankRequest, ResponseParams: { ResultCode: '2012', ResultData: { RetCode: '12' } } },
    ],
    ['without a request to the bank (the gateway refused)', { RtnCode: '2002' }],
    ['with OriRequestParams null', { RtnCode: '2002', OriRequestParams: null }],
  ])('a refusal %s is still final', async (_name, body) => {
    await faults({ refund: { next: [{ then: 'answer', status: 200, body: JSON.stringify(body) }] } });
    expect(await providerFailure(client().refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }))).toMatchObject({ type: 'MwdRefused', kind: 'final' });
  });
});

/** The error the client makes of MWD's refund answered with `body` (HTTP 200) by a raw server. */
async function answeredWith(body: string) {
  const server = await rawServer(200, body);
  try {
    return await providerFailure(client({ baseUrl: server.url }).refund(ORDER, { cardToken: CARD_TOKEN, amount: 55 }));
  } finally {
    await server.close();
  }
}

describe('MwdClient and answers MWD does not document', () => {
  it('reads the document’s own example response', async () => {
    const server = await rawServer(200, readFileSync(new URL('fixtures/mwd-refund.json', import.meta.url), 'utf8'));
    try {
      const result = await client({ baseUrl: server.url }).refund('202008170003', { cardToken: CARD_TOKEN, amount: 55 });
      expect(result).toEqual({
        orderId: '202008170003',
        serviceTradeNo: 'MW202008175703400013',
        merchantTradeNo: '202008170003_refund_120757785',
        amount: 55,
        tradeType: '5',
        paymentType: '04',
        authIdResp: '922410',
        cardLast4: '2708',
      });
    } finally {
      await server.close();
    }
  });

  it.each([
    ['HTML', '<html>oops</html>'],
    ['success codes without ResultData', '{"RtnCode":"1000","ResponseParams":{"ResultCode":"1000"}}'],
    ['RtnCode 1000 alone', '{"RtnCode":"1000"}'],
    ['a success without a trade number', '{"RtnCode":"1000","ResponseParams":{"ResultCode":"1000","ResultData":{"RetCode":"00"}}}'],
  ])('%s: never a success, never a refusal — the refund may have happened', async (_name, body) => {
    const err = await answeredWith(body);
    expect(err).toMatchObject({ type: 'MwdMalformedResponse', kind: 'unknown' });
  });

  const success = (fields: Record<string, string>) =>
    JSON.stringify({
      RtnCode: '1000',
      ResponseParams: {
        ResultCode: '1000',
        ResultData: { RetCode: '00', ServiceTradeNo: 'MW1', TradeAmount: '5500', TradeType: '5', OriMerchantTradeNo: ORDER, ...fields },
      },
    });

  it.each([
    ['another amount', success({ TradeAmount: '5550' }), 'TradeAmount "5550" (we asked "5500")'],
    ['another order', success({ OriMerchantTradeNo: '209912310001' }), 'OriMerchantTradeNo "209912310001" (we asked "202008170002")'],
    ['not a refund', success({ TradeType: '6' }), 'TradeType "6" (we asked "5")'],
  ])('a success that echoes %s: money moved, not as asked — both values named, never a success', async (_name, body, named) => {
    const err = await answeredWith(body);
    expect(err).toMatchObject({ type: 'MwdRefundMismatch', kind: 'unknown' });
    expect(err.message).toContain(named);
  });

  it.each([
    ['RtnCode refused, RetCode 00', '{"RtnCode":"2001","ResponseParams":{"ResultCode":"2001","ResultData":{"RetCode":"00","ServiceTradeNo":"MW1"}}}'],
    ['RtnCode 1000, ResultCode refused', '{"RtnCode":"1000","ResponseParams":{"ResultCode":"2001"}}'],
  ])('codes that contradict each other (%s) prove nothing', async (_name, body) => {
    const err = await answeredWith(body);
    expect(err).toMatchObject({ type: 'MwdCodesDisagree', kind: 'unknown' });
  });

  it('a card number in MWD’s message is masked in our error', async () => {
    const err = await answeredWith('{"RtnCode":"2003","RtnMessage":"card 4000000000002503 refused"}');
    expect(findPans(`${err.message} ${JSON.stringify(err.details)}`)).toEqual([]);
    expect(err.message).toContain('****2503');
  });
});
