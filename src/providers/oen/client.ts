import type { AxiosRequestConfig } from 'axios';
import type { z } from 'zod';
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
import type { RateLimiter } from '../rate-limit.js';
import { oenCodeRules, oenMalformed, oenStatusRules, oenUnexpectedStatus, oenUnknownCode } from './errors.js';
import {
  oenEnvelope,
  oenRefundRequest,
  oenSubscription,
  oenTransaction,
  oenTransactionPage,
  type OenRefundRequest,
  type OenSubscription,
  type OenTransaction,
} from './schemas.js';

export interface OenClientOptions {
  baseUrl: string;
  token: string | TokenProvider;
  /** The merchant's sub-domain (`ming` for https://ming.oen.tw); a call may name another. */
  merchantId: string;
  timeoutMs?: number;
  metrics?: ProviderHttp['metrics'];
  /** Every request waits for it first; none by default. */
  limiter?: RateLimiter;
}

/** A guard against a provider whose page tokens never end. 50 a page: 50,000 transactions. */
const MAX_PAGES = 1_000;

/** The Oen Tech Payment API: list an order's transactions, refund a transaction, cancel a subscription. */
export class OenClient {
  private readonly http: ProviderHttp;
  private readonly tokenProvider: TokenProvider;
  private readonly merchantId: string;

  constructor({ baseUrl, token, merchantId, timeoutMs = DEFAULT_PROVIDER_TIMEOUT_MS, metrics, limiter }: OenClientOptions) {
    this.http = createHttp({ baseUrl, timeoutMs, provider: 'oen', metrics, limiter });
    this.tokenProvider = typeof token === 'string' ? staticToken(token) : token;
    this.merchantId = merchantId;
  }

  /** Every transaction of the order, following page tokens to the end. */
  async listTransactions(orderId: string, options: CallOptions = {}): Promise<OenTransaction[]> {
    const transactions: OenTransaction[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      options.onRequest?.();
      const data = await this.call(
        'list_transactions',
        { method: 'GET', url: `/order/${encodeURIComponent(orderId)}/transactions`, params: pageToken ? { pageToken } : {} },
        oenTransactionPage,
        false,
        options,
      );
      transactions.push(...data.transactions);
      if (!data.pageToken) return transactions;
      pageToken = data.pageToken;
    }
    throw new ProviderError('oen', oenMalformed(false), {}, `order ${orderId} has more than ${MAX_PAGES} pages`);
  }

  /** Refunds a card transaction. Oen allows one refund per transaction, ever (a second is V0002). */
  async refund(transactionHid: string, request: OenRefundRequest, options: CallOptions = {}): Promise<OenTransaction> {
    const { merchantId, ...body } = oenRefundRequest.parse(request);
    return this.call(
      'refund',
      {
        method: 'POST',
        url: `/refunds/${encodeURIComponent(transactionHid)}`,
        data: { merchantId: merchantId ?? this.merchantId, ...body },
      },
      oenTransaction,
      true,
      options,
    );
  }

  async cancelSubscription(
    subscriptionId: string,
    { reason, merchantId }: { reason?: string; merchantId?: string } = {},
    options: CallOptions = {},
  ): Promise<OenSubscription> {
    return this.call(
      'cancel_subscription',
      {
        method: 'PUT',
        url: `/subscriptions/${encodeURIComponent(subscriptionId)}`,
        data: { merchantId: merchantId ?? this.merchantId, ...(reason !== undefined && { reason }) },
      },
      oenSubscription,
      true,
      options,
    );
  }

  /** One call: the envelope's code decides first, then the HTTP status; `data` is parsed last. */
  private async call<Schema extends z.ZodType>(
    operation: string,
    request: AxiosRequestConfig,
    schema: Schema,
    mutating: boolean,
    options: CallOptions,
  ): Promise<z.output<Schema>> {
    const what = `${request.method} ${request.url}`;
    const sent = await send(this.http, this.tokenProvider, operation, request, options);
    if ('failure' in sent) {
      throw new ProviderError('oen', transportRule('Oen', sent.failure, mutating), { code: sent.failure.code }, what);
    }
    const { status, data: text } = sent.response;
    const envelope = oenEnvelope.safeParse(parseJson(text));
    if (!envelope.success) {
      const rule = oenStatusRules[status] ?? (status === 200 ? oenMalformed(mutating) : oenUnexpectedStatus);
      throw new ProviderError('oen', rule, { httpStatus: status }, `${what}: the body is not Oen's envelope`);
    }
    const { code, message, data } = envelope.data;
    if (code !== 'S0000') {
      // A code we do not know is final, unless HTTP says the server failed (5xx: transient).
      const rule = oenCodeRules[code] ?? (status >= 500 ? oenStatusRules[status] : undefined) ?? oenUnknownCode;
      throw new ProviderError('oen', rule, { httpStatus: status, code, providerMessage: message }, what);
    }
    if (status !== 200) {
      throw new ProviderError('oen', oenStatusRules[status] ?? oenUnexpectedStatus, { httpStatus: status, code }, what);
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(data)').join(', ');
      throw new ProviderError('oen', oenMalformed(mutating), { httpStatus: status, code }, `${what}: unexpected ${fields}`);
    }
    return parsed.data;
  }
}
