import type { OutcomeTarget } from '../activities/outcome.js';
import { uiBaseUrl, type Config } from '../config.js';
import type { RefundPolicy } from '../domain/policy.js';
import type { ReconcilePolicy } from '../domain/reconcile.js';

/**
 * Configuration → the settings each part works with: the one place the worker, the API, the CLI and
 * `npm start` turn environment variables into policies and addresses.
 */

/** Where an unset TEMPORAL_ADDRESS points: the dev server `npm start` runs. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `localhost:${config.TEMPORAL_DEV_PORT}`;
}

export function refundPolicyFrom(config: Config): RefundPolicy {
  return {
    ...(config.APPROVAL_THRESHOLD !== undefined && { approvalThreshold: config.APPROVAL_THRESHOLD }),
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_SECONDS * 1000,
    retryWindowMs: config.PROVIDER_RETRY_WINDOW_SECONDS * 1000,
  };
}

export function reconcilePolicyFrom(config: Config): ReconcilePolicy {
  return {
    submittingAfterSeconds: config.RECONCILE_SUBMITTING_AFTER_SECONDS,
    succeededWithinDays: config.RECONCILE_SUCCEEDED_DAYS,
    resubmit: config.RECONCILE_RESUBMIT,
  };
}

/** Where outcome events go, when OUTCOME_WEBHOOK_URL is set (the config requires its secret with it). */
export function outcomeTargetFrom(config: Config): { outcomes?: OutcomeTarget } {
  if (!config.OUTCOME_WEBHOOK_URL || !config.OUTCOME_WEBHOOK_SECRET) return {};
  return {
    outcomes: {
      url: config.OUTCOME_WEBHOOK_URL,
      secret: config.OUTCOME_WEBHOOK_SECRET,
      uiBaseUrl: uiBaseUrl(config),
      namespace: config.TEMPORAL_NAMESPACE,
    },
  };
}
