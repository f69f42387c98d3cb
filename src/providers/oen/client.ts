import type { AxiosRequestConfig } from 'axios';
import type { z } from 'zod';
import { ProviderError } from '../errors.js';
import {
  createHttp,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  parseJson,
  retryAfterMs,
  describeBody,
  send,
  staticToken,
  transportRule,
  type CallOptions,
  type ProviderHttp,
  type TokenProvider,
} from '../http.js';
import type { RateLimiter } from '../rate-limit.js';
import { oenAnswerRule, oenListUnavailable } from './errors.js';
import {
  oenEnvelope,
  oenRefundBody,
  oenSubscription,
  oenTransaction,
  oenTransactionPage,
  type OenRefundBody,
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
    throw new ProviderError('oen', oenListUnavailable, {}, `order ${orderId} has more than ${MAX_PAGES} pages`);
  }

  /** Refunds a card transaction. Oen allows one refund per transaction, ever (a second is V0002). */
  async refund(transactionHid: string, request: OenRefundBody, options: CallOptions = {}): Promise<OenTransaction> {
    const { merchantId, ...body } = oenRefundBody.parse(request);
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

  /**
   * One call. Only a 200 with Oen's envelope, code S0000 and data we can read is a success; every
   * other answer is classified by `oenAnswerRule` (errors.ts), never guessed at.
   */
  private async call<Schema extends z.ZodType>(
    operation: string,
    request: AxiosRequestConfig,
    schema: Schema,
    write: boolean,
    options: CallOptions,
  ): Promise<z.output<Schema>> {
    const what = `${request.method} ${request.url}`;
    const sent = await send(this.http, this.tokenProvider, operation, request, options);
    if (sent.kind === 'failed') {
      throw new ProviderError('oen', transportRule('Oen', sent.failure, write), { code: sent.failure.code }, what);
    }
    const { status, data: text, headers } = sent.response;
    const envelope = oenEnvelope.safeParse(parseJson(text));
    const code = envelope.success ? envelope.data.code : undefined;
    const failed = (context: string, message?: string) => {
      const retryAfter = retryAfterMs(headers);
      return new ProviderError(
        'oen',
        oenAnswerRule(write, status, code),
        {
          httpStatus: status,
          ...(code !== undefined && { code }),
          ...(message && { providerMessage: message }),
          ...(retryAfter !== undefined && { retryAfterMs: retryAfter }),
        },
        `${what}${context}`,
      );
    };
    if (!envelope.success) throw failed(`: the body is not Oen's envelope (${describeBody(text)})`);
    if (code !== 'S0000' || status !== 200) throw failed('', envelope.data.message);
    const parsed = schema.safeParse(envelope.data.data);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(data)').join(', ');
      throw failed(`: unexpected ${fields}`);
    }
    return parsed.data;
  }
}
