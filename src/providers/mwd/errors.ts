import { serverErrorRules, type ErrorRule } from '../errors.js';

/**
 * MWD's outcomes, each mapped to one failure type. The document gives only the success codes
 * (RtnCode "1000", ResultCode "1000", RetCode "00"); any other answer is a refusal and final.
 * HTTP 500 is transient: MWD answered and said it failed, so resending is safe.
 */
export const mwdRefused: ErrorRule = { type: 'MwdRefused', kind: 'final', meaning: 'refund refused' };

export const mwdStatusRules: Record<number, ErrorRule> = {
  400: { type: 'MwdHttp400', kind: 'final', meaning: 'bad request' },
  401: { type: 'MwdHttp401', kind: 'final', meaning: 'unauthorised (check MWD_TOKEN)' },
  ...serverErrorRules('Mwd'),
};

export const mwdUnexpectedStatus: ErrorRule = { type: 'MwdUnexpectedStatus', kind: 'final', meaning: 'an unexpected HTTP status' };

/** A 200 we cannot read: the refund may have happened, and MWD cannot be asked. */
export const mwdMalformed: ErrorRule = {
  type: 'MwdMalformedResponse',
  kind: 'unknown',
  meaning: 'an answer we cannot read; the refund may have happened',
};
