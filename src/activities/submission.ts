import { Context } from '@temporalio/activity';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import { outcomeEnd, type ProviderOutcome } from '../domain/provider-call.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { LedgerError, type RefundLedger } from '../ledger/refunds.js';
import { settledInLedger, withinRetryWindow } from './failures.js';

/** What a run asks of a refund's provider call beyond the send (src/workflows/provider-calls.ts). */
export interface ProviderCallOptions {
  /** Record the refund's end in the ledger, as the run's own step would, and answer the record. */
  recordEnd?: boolean;
}

/** A provider call's outcome, with the ledger's record when the call recorded the end itself. */
export type RecordedOutcome = ProviderOutcome & { record?: RefundRecord };

interface SubmissionDeps {
  ledger: RefundLedger;
  metrics?: Pick<EngineMetrics, 'refundStatus'> | undefined;
}

/**
 * One attempt of a refund's provider call (submitOenRefund, submitMwdRefund), around the provider's
 * own `send`: a refund the ledger already settles is never sent again; otherwise the attempt is
 * recorded and sent within the retry window (`retryWindowMs`: the run's PROVIDER_RETRY_WINDOW_SECONDS,
 * the one way it reaches a provider call). With `recordEnd`, the end is recorded too (withRecordedEnd).
 */
export async function submission(
  deps: SubmissionDeps,
  refundId: string,
  { retryWindowMs, ...options }: ProviderCallOptions & { retryWindowMs: number },
  send: () => Promise<ProviderOutcome>,
): Promise<RecordedOutcome> {
  let outcome = await settledInLedger(deps.ledger, refundId);
  if (!outcome) {
    await deps.ledger.recordAttempt(refundId, Context.current().info.attempt);
    outcome = await withinRetryWindow(deps.ledger, refundId, retryWindowMs, send);
  }
  return withRecordedEnd(deps, refundId, outcome, options);
}

/**
 * The end a provider call's outcome means (outcomeEnd), recorded by the call itself when the run asks
 * (`recordEnd`): one ledger write where the run would take a step of its own (a local activity and the
 * activation that follows it). Once, and never at the outcome's expense: if the ledger cannot be
 * reached, the outcome goes back unrecorded and the run records it with its own step, retried until
 * the ledger answers, as a run did before. If it refuses the move because the refund has ended since
 * this attempt began, the ledger's record goes back: that end stands. A retried call finds the end
 * the ledger already has (settledInLedger) and records the same again, which changes nothing.
 */
export async function withRecordedEnd(
  { ledger, metrics = noMetrics }: SubmissionDeps,
  refundId: string,
  outcome: ProviderOutcome,
  options: ProviderCallOptions = {},
): Promise<RecordedOutcome> {
  if (!options.recordEnd) return outcome;
  const { status, fields } = outcomeEnd(outcome);
  try {
    const record = await ledger.transition(refundId, status, fields);
    metrics.refundStatus(record);
    return { ...outcome, record };
  } catch (err) {
    // Refused: another attempt of this call recorded the end first (one timed out that still ran and
    // had the provider's answer). The ledger's end stands, and the run closes with it.
    const recorded = err instanceof LedgerError ? await ledger.get(refundId).catch(() => undefined) : undefined;
    if (recorded && recorded.status !== 'submitting') return { ...outcome, record: recorded };
    Context.current().log.warn(`The ledger did not take refund ${refundId}'s end (${status}); the run records it with its own step`, {
      refundId,
      error: err instanceof Error ? err.message : String(err),
    });
    return outcome;
  }
}
