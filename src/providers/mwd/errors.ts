import type { ErrorRule } from '../errors.js';

/**
 * What each answer of MWD's means (docs/providers.md, "Errors", has the whole table). MWD
 * cannot be asked whether a refund happened, so only two answers let the engine act again on its
 * own: HTTP 500, MWD saying it failed (the design card: retry on 500), and a refused connection
 * (nothing was sent). Only an answer in MWD's own format whose codes all agree on a refusal is final.
 * Everything else — 502/503/504 and any status the document does not give, a 200 that is not MWD's
 * format, codes that contradict each other, a success that does not echo our request, a refusal that
 * shows the request reached the bank without the bank's answer — may mean the refund happened: a
 * person decides.
 */
export const mwdRefused: ErrorRule = { type: 'MwdRefused', kind: 'final', meaning: 'refund refused', refusal: true };

export const mwdServerError: ErrorRule = { type: 'MwdHttp500', kind: 'retryable', meaning: 'server error: MWD did not refund' };

export const mwdUnexpectedStatus = (status: number): ErrorRule => ({
  type: `MwdHttp${status}`,
  kind: 'unknown',
  meaning: `HTTP ${status} without MWD's refusal; the refund may have happened`,
});

/** A 200 we cannot read, or a success without its ResultData. */
export const mwdMalformed: ErrorRule = {
  type: 'MwdMalformedResponse',
  kind: 'unknown',
  meaning: 'an answer we cannot read; the refund may have happened',
};

export const mwdCodesDisagree: ErrorRule = {
  type: 'MwdCodesDisagree',
  kind: 'unknown',
  meaning: 'RtnCode, ResultCode and RetCode contradict each other; the refund may have happened',
};

/**
 * A refusal with MWD's request to the bank (OriRequestParams) and without the bank's answer
 * (ResponseParams), on any status: the bank was asked and may have refunded (the design card).
 */
export const mwdNoBankAnswer: ErrorRule = {
  type: 'MwdNoBankAnswer',
  kind: 'unknown',
  meaning: "refused without the bank's answer, after MWD sent the refund to the bank; the bank may have refunded",
};

/** MWD says it refunded, but not what we asked (another amount, another order, not a refund). */
export const mwdRefundMismatch: ErrorRule = {
  type: 'MwdRefundMismatch',
  kind: 'unknown',
  meaning: 'MWD refunded, but not as asked',
};

/** Every fixed rule of MWD's table: the engine's final and refusal types are derived from it (final-error-types.ts). */
export const mwdRules: readonly ErrorRule[] = [mwdRefused, mwdServerError, mwdMalformed, mwdCodesDisagree, mwdNoBankAnswer, mwdRefundMismatch];
