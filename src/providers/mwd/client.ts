import { ProviderError } from '../errors.js';
import {
  createHttp,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  parseJson,
  send,
  staticToken,
  transportRule,
  type CallOptions,
  type ProviderHttp,
  type TokenProvider,
} from '../http.js';
import type { RateLimiter, Turn } from '../rate-limit.js';
import { fromMwdAmount, toMwdAmount } from './amount.js';
import { mwdMalformed, mwdRefused, mwdStatusRules, mwdUnexpectedStatus } from './errors.js';
import { cardLast4, mwdRefundResponse, mwdRefundResult, type MwdRefundResult } from './schemas.js';

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
    if ('failure' in sent) {
      throw new ProviderError('mwd', transportRule('Mwd', sent.failure, true), { code: sent.failure.code }, what);
    }
    const { status, data: text } = sent.response;
    if (status !== 200) {
      const body = mwdRefundResponse.safeParse(parseJson(text));
      const rtn = body.success ? body.data : undefined;
      throw new ProviderError(
        'mwd',
        mwdStatusRules[status] ?? mwdUnexpectedStatus,
        { httpStatus: status, ...(rtn && { code: `RtnCode ${rtn.RtnCode}`, providerMessage: rtn.RtnMessage }) },
        what,
      );
    }
    const parsed = mwdRefundResponse.safeParse(parseJson(text));
    if (!parsed.success) throw new ProviderError('mwd', mwdMalformed, { httpStatus: status }, what);

    const { RtnCode, RtnMessage, ResponseParams } = parsed.data;
    const result = ResponseParams?.ResultData;
    // Final only where a code says no. Success codes with a part missing are not a refusal: the
    // refund may have happened, so the outcome is unknown.
    const refused = RtnCode !== '1000' || (ResponseParams !== undefined && ResponseParams.ResultCode !== '1000') || (result !== undefined && result.RetCode !== '00');
    if (refused) {
      const codes = [`RtnCode ${RtnCode}`, ResponseParams && `ResultCode ${ResponseParams.ResultCode}`, result && `RetCode ${result.RetCode}`];
      const messages = [RtnMessage, ResponseParams?.ResultMessage, result?.RetMsg].filter(Boolean);
      throw new ProviderError(
        'mwd',
        mwdRefused,
        { httpStatus: status, code: codes.filter(Boolean).join(', '), providerMessage: messages.join(' / ') },
        what,
      );
    }
    const refunded = result?.TradeAmount === undefined ? amount : fromMwdAmount(result.TradeAmount);
    if (!result?.ServiceTradeNo || refunded === undefined) {
      throw new ProviderError('mwd', mwdMalformed, { httpStatus: status, code: 'RtnCode 1000' }, `${what}: success without its ResultData`);
    }
    return mwdRefundResult.parse({
      orderId,
      serviceTradeNo: result.ServiceTradeNo,
      amount: refunded,
      merchantTradeNo: result.MerchantTradeNo,
      tradeType: result.TradeType,
      paymentType: result.PaymentType,
      authIdResp: result.AuthIdResp,
      cardLast4: cardLast4(result.CardNumber),
    });
  }
}
