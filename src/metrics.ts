import type { MetricMeter } from '@temporalio/common';
import type { RefundRecord } from './domain/refund.js';

/**
 * The engine's own metrics, beside the Temporal SDK's, on the worker's Prometheus endpoint
 * (METRICS_ADDRESS, `/metrics`). Recorded through the Runtime's metric meter, so one exporter
 * serves both; `noMetrics` where nothing is exported (unit tests, clients).
 */
export interface EngineMetrics {
  /** One HTTP request to a provider: its operation, how it ended (HTTP status or transport code), and how long it took. */
  providerCall(provider: string, operation: string, outcome: string, ms: number): void;
  /** A refund reached a status in the ledger. */
  refundStatus(record: Pick<RefundRecord, 'provider' | 'status'>): void;
  /** An activity attempt failed with an error Temporal will retry. */
  activityRetry(activity: string, errorType: string): void;
}

export const noMetrics: EngineMetrics = {
  providerCall: () => undefined,
  refundStatus: () => undefined,
  activityRetry: () => undefined,
};

/** The names as Prometheus shows them (counters get `_total`, the histogram its buckets). */
export const metricNames = {
  providerCallLatency: 'refundflow_provider_call_latency',
  refunds: 'refundflow_refunds',
  activityRetries: 'refundflow_activity_retries',
} as const;

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
