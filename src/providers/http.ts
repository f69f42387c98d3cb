import axios, { isAxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { ErrorRule } from './errors.js';

/** Every provider call takes the caller's AbortSignal (an activity's cancellation signal). */
export interface CallOptions {
  signal?: AbortSignal;
  /** Called before each HTTP request of a call that may make several (paging): a sign of progress. */
  onRequest?: () => void;
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

export function createHttp({ baseUrl, timeoutMs }: Omit<HttpOptions, 'tokenProvider'>): AxiosInstance {
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
  | { sent: false; code: string }
  /** Timeout, reset, abort: the provider may have received the request and acted on it. */
  | { sent: 'maybe'; code: string };

export type Sent = { response: AxiosResponse<string> } | { failure: TransportFailure };

/**
 * Sends one request with the bearer token and the caller's signal. Transport failures come back as
 * data, never as an axios error: those carry the request's headers (the token) and body.
 */
export async function send(
  http: AxiosInstance,
  tokenProvider: TokenProvider,
  request: AxiosRequestConfig,
  { signal }: CallOptions,
): Promise<Sent> {
  const token = await tokenProvider.token(signal);
  try {
    const response = await http.request<string>({
      ...request,
      signal,
      headers: { ...request.headers, Authorization: `Bearer ${token}` },
    });
    return { response };
  } catch (err) {
    if (!isAxiosError(err)) throw err;
    const code = err.code ?? 'UNKNOWN';
    return { failure: notSentCodes.has(code) ? { sent: false, code } : { sent: 'maybe', code } };
  }
}

/** Transport rules shared by both providers' tables. */
export function transportRule(
  provider: 'Oen' | 'Mwd',
  failure: TransportFailure,
  mutating: boolean,
): ErrorRule {
  if (failure.sent === false) {
    return { type: `${provider}ConnectionFailed`, kind: 'retryable', meaning: 'could not connect; the request was not sent' };
  }
  // A read that may have arrived changed nothing: asking again is safe.
  return mutating
    ? { type: `${provider}OutcomeUnknown`, kind: 'unknown', meaning: 'no complete answer; the request may have been acted on' }
    : { type: `${provider}NoAnswer`, kind: 'retryable', meaning: 'no complete answer to a read' };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
