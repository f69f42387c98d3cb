import type { RefundRecord } from './schemas/refund-record.js';

/**
 * What the engine records as metrics, beside the Temporal SDK's: the providers' clients, the ledger
 * activities and the retry interceptor record through this; src/metrics.ts puts it on the worker's
 * Prometheus endpoint. `noMetrics` where nothing is exported (unit tests, clients).
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
