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
export const finalErrorTypes = [...new Set(allRules.filter((rule) => rule.kind === 'final').map((rule) => rule.type))];
