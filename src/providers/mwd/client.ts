import { ProviderError } from '../errors.js';
import {
  createHttp,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  describeBody,
  parseJson,
  send,
  staticToken,
  transportRule,
  type CallOptions,
  type ProviderHttp,
  type TokenProvider,
} from '../http.js';
import type { RateLimiter, Turn } from '../rate-limit.js';
import { toMwdAmount } from './amount.js';
import { mwdCodesDisagree, mwdMalformed, mwdNoBankAnswer, mwdRefundMismatch, mwdRefused, mwdServerError, mwdUnexpectedStatus } from './errors.js';
import { cardLast4, mwdRefundResponse, mwdRefundResult, type MwdBankRequest, type MwdRefundResponse, type MwdRefundResult } from './schemas.js';

export interface MwdClientOptions {
  baseUrl: string;
  /** A static token from config, or a provider for the login flow the document leaves out. */
  token: string | TokenProvider;
  timeoutMs?: number;
  metrics?: ProviderHttp['metrics'];
  /** Every request waits for it first; none by default. */
  limiter?: RateLimiter;
}

export interface MwdRefundRequest {
  cardToken: string;
  /** Whole NT$. */
  amount: number;
}

/** MWD pay+ refund by order (POST /v1/payment/mwd/{order_id}/refund). */
export class MwdClient {
  private readonly http: ProviderHttp;
  private readonly tokenProvider: TokenProvider;

  constructor({ baseUrl, token, timeoutMs = DEFAULT_PROVIDER_TIMEOUT_MS, metrics, limiter }: MwdClientOptions) {
    this.http = createHttp({ baseUrl, timeoutMs, provider: 'mwd', metrics, limiter });
    this.tokenProvider = typeof token === 'string' ? staticToken(token) : token;
  }

  /**
   * Waits for MWD's rate limit, for a caller that must do something right before sending (record the
   * send) and should not wait between that and the send. Pass the turn to the call that follows.
   */
  takeTurn(options: Pick<CallOptions, 'signal' | 'onWait'> = {}): Promise<Turn> {
    return this.http.limiter.acquire(options);
  }

  async refund(orderId: string, { cardToken, amount }: MwdRefundRequest, options: CallOptions = {}): Promise<MwdRefundResult> {
    const what = `refund of order ${orderId}`;
    const sent = await send(
      this.http,
      this.tokenProvider,
      'refund',
      {
        method: 'POST',
        url: `/v1/payment/mwd/${encodeURIComponent(orderId)}/refund`,
        data: { CardToken: cardToken, TradeAmount: toMwdAmount(amount) },
      },
      options,
    );
    if (sent.kind === 'failed') {
      throw new ProviderError('mwd', transportRule('Mwd', sent.failure, true), { code: sent.failure.code }, what);
    }
    const { status, data: text } = sent.response;
    const parsed = mwdRefundResponse.safeParse(parseJson(text));
    const body = parsed.success ? parsed.data : undefined;
    const verdict = body && codesVerdict(body);
    const details = { httpStatus: status, ...(body && verdict !== 'success' && { code: codesOf(body), providerMessage: messagesOf(body) }) };
    if (body && verdict === 'refused' && bankAnswerMissing(body)) {
      throw new ProviderError('mwd', mwdNoBankAnswer, details, `${what}; ${describeBankRequest(body.OriRequestParams)}`);
    }
    if (verdict === 'refused' && (status === 200 || (status >= 400 && status < 500))) {
      throw new ProviderError('mwd', mwdRefused, details, what);
    }
    // MWD said it failed; unless its body says it refunded after all.
    if (status === 500) throw new ProviderError('mwd', verdict === 'success' ? mwdCodesDisagree : mwdServerError, details, what);
    if (status !== 200) throw new ProviderError('mwd', mwdUnexpectedStatus(status), details, `${what}${body ? '' : ` (${describeBody(text)})`}`);
    if (!body) throw new ProviderError('mwd', mwdMalformed, details, `${what}: ${describeBody(text)}`);
    if (verdict === 'disagree') throw new ProviderError('mwd', mwdCodesDisagree, details, what);

    const result = body.ResponseParams?.ResultData;
    if (!result?.ServiceTradeNo) {
      throw new ProviderError('mwd', mwdMalformed, { httpStatus: status, code: 'RtnCode 1000' }, `${what}: success without its ResultData`);
    }
    const asked = { TradeAmount: toMwdAmount(amount), TradeType: '5', OriMerchantTradeNo: orderId };
    const mismatches = Object.entries(asked)
      .filter(([field, value]) => result[field as keyof typeof asked] !== value)
      .map(([field, value]) => `${field} ${JSON.stringify(result[field as keyof typeof asked] ?? null)} (we asked ${JSON.stringify(value)})`);
    if (mismatches.length > 0) {
      throw new ProviderError(
        'mwd',
        mwdRefundMismatch,
        { httpStatus: status, code: 'RtnCode 1000' },
        `${what}: MWD's success says ${mismatches.join(', ')}; its trade number ${result.ServiceTradeNo}`,
      );
    }
    return mwdRefundResult.parse({
      orderId,
      serviceTradeNo: result.ServiceTradeNo,
      amount,
      merchantTradeNo: result.MerchantTradeNo,
      tradeType: result.TradeType,
      paymentType: result.PaymentType,
      authIdResp: result.AuthIdResp,
      cardLast4: cardLast4(result.CardNumber),
    });
  }
}

/**
 * What MWD's three codes say together: `success` when each one present says so (RtnCode "1000",
 * ResultCode "1000", RetCode "00"), `refused` when each one present says no, `disagree` otherwise.
 */
export function codesVerdict(body: MwdRefundResponse): 'success' | 'refused' | 'disagree' {
  const verdicts = [
    body.RtnCode === '1000',
    body.ResponseParams && body.ResponseParams.ResultCode === '1000',
    body.ResponseParams?.ResultData && body.ResponseParams.ResultData.RetCode === '00',
  ].filter((v): v is boolean => v !== undefined);
  if (verdicts.every(Boolean)) return 'success';
  if (verdicts.every((v) => !v)) return 'refused';
  return 'disagree';
}

/**
 * MWD's refusal that carries its request to the bank (OriRequestParams) but not the bank's answer
 * (ResponseParams): the refund reached Taishin, whose answer never came back, so the bank may have
 * refunded. Whatever RtnCode says, that is MWD's own failure, not the bank's refusal.
 */
export function bankAnswerMissing(body: Pick<MwdRefundResponse, 'OriRequestParams' | 'ResponseParams'>): boolean {
  return body.OriRequestParams != null && body.ResponseParams === undefined;
}

/** What MWD says it asked the bank, for the person who has to ask MWD or Taishin what happened. */
function describeBankRequest(request: MwdBankRequest | null | undefined): string {
  const asked = request?.RequestParams ?? {};
  const fields = (['MerchantTradeNo', 'OriMerchantTradeNo', 'TradeType', 'TradeAmount', 'MerchantTradeDate', 'MerchantTradeTime'] as const)
    .filter((field) => asked[field] !== undefined)
    .map((field) => `${field} ${JSON.stringify(asked[field])}`);
  return `MWD's request to the bank: ${fields.length > 0 ? fields.join(', ') : 'present, without the trade it named'}`;
}

function codesOf({ RtnCode, ResponseParams }: MwdRefundResponse): string {
  const result = ResponseParams?.ResultData;
  return [`RtnCode ${RtnCode}`, ResponseParams && `ResultCode ${ResponseParams.ResultCode}`, result && `RetCode ${result.RetCode}`].filter(Boolean).join(', ');
}

function messagesOf({ RtnMessage, ResponseParams }: MwdRefundResponse): string {
  return [RtnMessage, ResponseParams?.ResultMessage, ResponseParams?.ResultData?.RetMsg].filter(Boolean).join(' / ');
}
