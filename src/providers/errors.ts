import { maskPans } from '../domain/pan.js';

export type ProviderName = 'oen' | 'mwd';

/**
 * What a failed provider call means for the refund:
 * - `retryable`: the provider did not act (it said so, or the request never reached it);
 *   sending again is safe.
 * - `final`: the provider refused; sending again gives the same answer.
 * - `unknown`: the request may have been acted on (timeout after sending, connection dropped,
 *   an unreadable answer to a refund). Never resend blindly: ask the provider first, or hand it to
 *   a person where the provider cannot be asked (money-safety rule 2).
 */
export type OutcomeKind = 'retryable' | 'final' | 'unknown';

/** One row of a provider's error table: the failure type (the ApplicationFailure type) and its kind. */
export interface ErrorRule {
  type: string;
  kind: OutcomeKind;
  meaning: string;
}

/** HTTP 500/502/503/504: the provider, or a gateway before it, failed and says so. Transient. */
export function serverErrorRules(prefix: 'Oen' | 'Mwd'): Record<number, ErrorRule> {
  const meanings: Record<number, string> = {
    500: 'server error',
    502: 'bad gateway',
    503: 'service unavailable',
    504: 'gateway timeout',
  };
  return Object.fromEntries(
    Object.entries(meanings).map(([status, meaning]) => [status, { type: `${prefix}Http${status}`, kind: 'retryable', meaning }]),
  );
}

export interface ProviderErrorDetails {
  httpStatus?: number;
  /** The provider's own result code(s), e.g. "V0002" or "RtnCode 2004". */
  code?: string;
  /** The provider's message, with any card number masked. */
  providerMessage?: string;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly type: string;
  readonly kind: OutcomeKind;

  constructor(
    readonly provider: ProviderName,
    rule: ErrorRule,
    readonly details: ProviderErrorDetails = {},
    context?: string,
  ) {
    const providerMessage = details.providerMessage ? maskPans(details.providerMessage) : undefined;
    const parts = [
      `${provider === 'oen' ? 'Oen' : 'MWD'}: ${rule.meaning}`,
      details.code && `code ${details.code}`,
      details.httpStatus !== undefined && `HTTP ${details.httpStatus}`,
      providerMessage && `"${providerMessage}"`,
      context,
    ].filter(Boolean);
    super(maskPans(parts.join(' · ')));
    this.type = rule.type;
    this.kind = rule.kind;
    this.details = { ...details, ...(providerMessage !== undefined && { providerMessage }) };
  }

  get retryable(): boolean {
    return this.kind === 'retryable';
  }
}
