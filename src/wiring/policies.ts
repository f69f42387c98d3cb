import type { OutcomeTarget } from '../activities/outcome.js';
import type { OidcSettings } from '../domain/oidc.js';
import { uiBaseUrl, type Config } from '../config.js';
import { verifyKeyOf } from '../domain/decision-proof.js';
import type { RefundPolicy } from '../domain/policy.js';
import type { ReconcilePolicy } from '../domain/reconcile.js';

/**
 * Configuration → the settings each part works with: the one place the worker, the API, the CLI and
 * `npm start` turn environment variables into policies (how they reach Temporal: temporal-connection.ts).
 */

export function refundPolicyFrom(config: Config): RefundPolicy {
  return {
    ...(config.APPROVAL_THRESHOLD !== undefined && { approvalThreshold: config.APPROVAL_THRESHOLD }),
    ...(config.DUAL_APPROVAL_THRESHOLD !== undefined && { dualApprovalThreshold: config.DUAL_APPROVAL_THRESHOLD }),
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_SECONDS * 1000,
    decisionVerifyKeys: decisionVerifyKeys(config),
    acceptUnsignedDecisions: config.ALLOW_UNSIGNED_DECISIONS,
    retryWindowMs: config.PROVIDER_RETRY_WINDOW_SECONDS * 1000,
  };
}

/** The keys a worker checks decisions with: OPERATOR_VERIFY_KEYS, else the public half of OPERATOR_SIGNING_KEY. */
export function decisionVerifyKeys(config: Config): string[] {
  if (config.OPERATOR_VERIFY_KEYS) return config.OPERATOR_VERIFY_KEYS.map((key) => key.toLowerCase());
  return config.OPERATOR_SIGNING_KEY ? [verifyKeyOf(config.OPERATOR_SIGNING_KEY)] : [];
}

/** OIDC sign-in for the API, when OIDC_ISSUER is set (the config requires OIDC_AUDIENCE with it). */
export function oidcSettings(config: Config): OidcSettings | undefined {
  if (!config.OIDC_ISSUER || !config.OIDC_AUDIENCE) return undefined;
  return {
    issuer: config.OIDC_ISSUER,
    audience: config.OIDC_AUDIENCE,
    rolesClaim: config.OIDC_ROLES_CLAIM,
    clockSkewSeconds: config.OIDC_CLOCK_SKEW_SECONDS,
    jwksUrl: config.OIDC_JWKS_URL,
    algorithms: config.OIDC_ALGORITHMS,
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
