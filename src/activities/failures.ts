import { ApplicationFailure } from '@temporalio/common';
import type { ProviderError } from '../providers/errors.js';

/**
 * A provider failure as Temporal sees it: the type names the provider's code, final ones are not
 * retried. Only the error's safe fields cross over (its message already has card numbers masked).
 */
export function toApplicationFailure(err: ProviderError): ApplicationFailure {
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: err.kind === 'final',
    details: [err.details],
  });
}
