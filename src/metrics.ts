import type { MetricMeter } from '@temporalio/common';
import type { EngineMetrics } from './domain/metrics.js';

/** The names as Prometheus shows them (counters get `_total`, the histogram its buckets). */
export const metricNames = {
  providerCallLatency: 'refundflow_provider_call_latency',
  refunds: 'refundflow_refunds',
  activityRetries: 'refundflow_activity_retries',
} as const;

/** The engine's metrics (src/domain/metrics.ts) recorded through the Runtime's metric meter, so one exporter serves both. */
export function engineMetrics(meter: MetricMeter): EngineMetrics {
  const latency = meter.createHistogram(
    metricNames.providerCallLatency,
    'int',
    'ms',
    'Provider HTTP requests: milliseconds until the answer or the transport failure',
  );
  const refunds = meter.createCounter(metricNames.refunds, undefined, 'Refunds recorded in the ledger, by provider and the status reached');
  const retries = meter.createCounter(
    metricNames.activityRetries,
    undefined,
    'Activity attempts that failed with a retryable error, by activity and error type',
  );
  return {
    providerCall: (provider, operation, outcome, ms) => latency.record(Math.max(0, Math.round(ms)), { provider, operation, outcome }),
    refundStatus: ({ provider, status }) => refunds.add(1, { provider, status }),
    activityRetry: (activity, errorType) => retries.add(1, { activity, error_type: errorType }),
  };
}
