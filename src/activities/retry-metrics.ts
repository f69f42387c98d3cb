import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import type { EngineMetrics } from '../domain/metrics.js';
import { finalErrorTypes } from '../providers/final-error-types.js';

/**
 * Counts activity attempts that fail with an error Temporal retries, by activity and error type
 * (`OenF0001`, `OenNoAnswer`, `MwdOutcomeUnknown`, …): the provider trouble an operator watches.
 * Final failures and cancellations are not retries and are not counted.
 */
export function retryMetricsInterceptor(metrics: Pick<EngineMetrics, 'activityRetry'>) {
  return (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          const type = retriedErrorType(err);
          if (type !== undefined) metrics.activityRetry(ctx.info.activityType, type);
          throw err;
        }
      },
    },
  });
}

function retriedErrorType(err: unknown): string | undefined {
  if (err instanceof CancelledFailure) return undefined;
  if (err instanceof ApplicationFailure) {
    if (err.nonRetryable || (err.type && finalErrorTypes.includes(err.type))) return undefined;
    return err.type ?? 'ApplicationFailure';
  }
  return err instanceof Error ? err.name : 'Unknown';
}
