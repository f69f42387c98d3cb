import axios, { isAxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import type { ErrorRule } from './errors.js';
import { turnStillGood, unlimited, type RateLimiter, type Turn } from './rate-limit.js';

/** Every provider call takes the caller's AbortSignal (an activity's cancellation signal). */
export interface CallOptions {
  signal?: AbortSignal;
  /** Called before each HTTP request of a call that may make several (paging): a sign of progress. */
  onRequest?: () => void;
  /** Called about once a second while a request waits for the provider's rate limit. */
  onWait?: () => void;
  /**
   * The turn the caller already waited for (`takeTurn`) before a step that had to come first: the
   * request goes at once if the turn is still good, else it waits for a new one.
   */
  turn?: Turn;
}

/** The seam for bearer tokens: a static one from config today, a login flow later. */
export interface TokenProvider {
  token(signal?: AbortSignal): Promise<string>;
}

export function staticToken(token: string): TokenProvider {
  return { token: () => Promise.resolve(token) };
}

export interface HttpOptions {
  baseUrl: string;
  tokenProvider: TokenProvider;
  /** Per request; the activity's startToCloseTimeout must stay above it. */
  timeoutMs: number;
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

/** A provider's HTTP client, with the name and the metrics its requests are recorded under. */
export interface ProviderHttp {
  axios: AxiosInstance;
  provider: 'oen' | 'mwd';
  metrics: Pick<EngineMetrics, 'providerCall'>;
  /** Every request waits for it first (OEN_RATE_LIMIT / MWD_RATE_LIMIT). */
  limiter: RateLimiter;
}

export function createHttp({
  baseUrl,
  timeoutMs,
  provider,
  metrics = noMetrics,
  limiter = unlimited,
}: Omit<HttpOptions, 'tokenProvider'> &
  Pick<ProviderHttp, 'provider'> & { metrics?: ProviderHttp['metrics'] | undefined; limiter?: RateLimiter | undefined }): ProviderHttp {
  return { provider, metrics, limiter, axios: createAxios(baseUrl, timeoutMs) };
}

function createAxios(baseUrl: string, timeoutMs: number): AxiosInstance {
  return axios.create({
    baseURL: baseUrl,
    timeout: timeoutMs,
    // Every status comes back as a response: the provider's error table classifies it, not axios.
    validateStatus: () => true,
    // Redirects would resend a refund to a place we did not configure.
    maxRedirects: 0,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    // Keep the raw text: a malformed answer must be reported, not guessed at.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
  });
}

/** Error codes that prove the request never reached the provider. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export type TransportFailure =
  | { kind: 'not_sent'; code: string }
  /** Timeout, reset, abort: the provider may have received the request and acted on it. */
  | { kind: 'maybe_sent'; code: string };

/** A request sent: the provider's answer (any status), or the transport's failure. */
export type Sent = { kind: 'answered'; response: AxiosResponse<string> } | { kind: 'failed'; failure: TransportFailure };

/**
 * Sends one request with the bearer token and the caller's signal. Transport failures come back as
 * data, never as an axios error: those carry the request's headers (the token) and body.
 */
export async function send(
  http: ProviderHttp,
  tokenProvider: TokenProvider,
  /** Names the request in metrics (the URL holds ids). */
  operation: string,
  request: AxiosRequestConfig,
  { signal, onWait, turn }: CallOptions,
): Promise<Sent> {
  if (!turn || !turnStillGood(turn)) {
    try {
      await http.limiter.acquire({ signal, onWait });
    } catch (err) {
      // Cancelled while waiting its turn: nothing was sent.
      if (signal?.aborted) return { kind: 'failed', failure: { kind: 'not_sent', code: 'ERR_CANCELED' } };
      throw err;
    }
  }
  const token = await tokenProvider.token(signal);
  const started = performance.now();
  const observe = (outcome: string) => http.metrics.providerCall(http.provider, operation, outcome, performance.now() - started);
  try {
    const response = await http.axios.request<string>({
      ...request,
      signal,
      headers: { ...request.headers, Authorization: `Bearer ${token}` },
    });
    observe(String(response.status));
    return { kind: 'answered', response };
  } catch (err) {
    if (!isAxiosError(err)) throw err;
    const code = err.code ?? 'UNKNOWN';
    observe(code);
    return { kind: 'failed', failure: notSentCodes.has(code) ? { kind: 'not_sent', code } : { kind: 'maybe_sent', code } };
  }
}

/** Transport rules shared by both providers' tables. */
export function transportRule(provider: 'Oen' | 'Mwd', failure: TransportFailure, mutating: boolean): ErrorRule {
  if (failure.kind === 'not_sent') {
    return { type: `${provider}ConnectionFailed`, kind: 'retryable', meaning: 'could not connect; the request was not sent' };
  }
  // A read that may have arrived changed nothing: asking again is safe.
  return mutating
    ? { type: `${provider}OutcomeUnknown`, kind: 'unknown', meaning: 'no complete answer; the request may have been acted on' }
    : { type: `${provider}NoAnswer`, kind: 'retryable', meaning: 'no complete answer to a read' };
}

/**
 * A Retry-After header (seconds, or an HTTP date) in ms, capped at 10 minutes; undefined when absent
 * or unreadable.
 */
export function retryAfterMs(headers: Record<string, unknown>, now = Date.now()): number | undefined {
  const value = headers['retry-after'];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), 600_000) : undefined;
}

/**
 * What kind of body an answer had, for an error message: never its text, which may hold anything
 * (a card number among it).
 */
export function describeBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'an empty body';
  const kind = /^<(!doctype|html)/i.test(trimmed) ? 'an HTML page' : /^[[{]/.test(trimmed) ? 'JSON that is not the expected shape, or cut short' : 'text';
  return `${kind}, ${Buffer.byteLength(text)} bytes`;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
