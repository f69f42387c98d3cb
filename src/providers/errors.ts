import type { ProviderFailureType } from '../domain/failures.js';
import { maskPans } from '../domain/pan.js';

export type ProviderName = 'oen' | 'mwd';

/**
 * What a failed provider call means for the refund:
 * - `retryable`: asking again is safe: a read, the provider saying it did not act (MWD's HTTP 500),
 *   or a request that never left. (Oen's F0001 too: every Oen refund attempt checks first.)
 * - `final`: the provider refused, in its own documented words; sending again gives the same answer.
 * - `unknown`: the request may have been acted on, or acted on otherwise than asked (a timeout after
 *   sending, a dropped connection, a status or body the provider does not document, codes that
 *   contradict each other). Never resend blindly: ask the provider first, or hand it to a person
 *   where the provider cannot be asked (money-safety rule 2).
 */
export type OutcomeKind = 'retryable' | 'final' | 'unknown';

/** One row of a provider's error table: the failure type (the ApplicationFailure type) and its kind. */
export interface ErrorRule {
  type: ProviderFailureType;
  kind: OutcomeKind;
  meaning: string;
  /**
   * A documented refusal given before the provider acted: the only failures that may end a refund
   * `failed` (money-safety rule 6). Always `final`.
   */
  refusal?: true;
}

export interface ProviderErrorDetails {
  httpStatus?: number;
  /** The provider's own result code(s), e.g. "V0002" or "RtnCode 2004". */
  code?: string;
  /** The provider's message, with any card number masked. */
  providerMessage?: string;
  /** How long the answer asked us to wait before asking again (Retry-After). */
  retryAfterMs?: number;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly type: ProviderFailureType;
  readonly kind: OutcomeKind;
  /** A documented refusal given before the provider acted (its rule's `refusal`). */
  readonly refusal: boolean;

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
    this.refusal = rule.refusal === true;
    this.details = { ...details, ...(providerMessage !== undefined && { providerMessage }) };
  }

  get retryable(): boolean {
    return this.kind === 'retryable';
  }
}
