import type { ErrorRule } from './errors.js';
import { mwdMalformed, mwdRefused, mwdStatusRules, mwdUnexpectedStatus } from './mwd/errors.js';
import { oenCodeRules, oenStatusRules, oenUnexpectedStatus, oenUnknownCode } from './oen/errors.js';

const allRules: ErrorRule[] = [
  ...Object.values(oenCodeRules),
  ...Object.values(oenStatusRules),
  oenUnknownCode,
  oenUnexpectedStatus,
  mwdRefused,
  ...Object.values(mwdStatusRules),
  mwdUnexpectedStatus,
  mwdMalformed,
];

/**
 * Every final failure type of both providers' tables: the provider activities' retry policy lists
 * them in `nonRetryableErrorTypes`, so even a failure thrown without the nonRetryable flag is not
 * retried. Pure data: workflow code imports it.
 */
/**
 * The failure type a refund submission ends with when the provider kept failing past the retry
 * window (src/activities/failures.ts throws it; the workflows read it). Details: `{ code }`, the
 * provider's failure type.
 */
export const RETRY_WINDOW_PASSED = 'RetryWindowPassed';

export const finalErrorTypes = [...new Set(allRules.filter((rule) => rule.kind === 'final').map((rule) => rule.type))];
