import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { profiles, type DeliveryActivities, type LedgerActivities, type PolicyActivities } from './activity-options.js';

/**
 * The steps workflows take outside the provider calls (those are in ./provider-calls.ts): ledger
 * writes, the worker's policy, and telling order management. `summary` names a step in the Web UI.
 */

/** A step of the ledger (profiles.ledger: local, retried until the ledger answers). */
export const ledgerStep = (summary: string) => proxyLocalActivities<LedgerActivities>({ ...profiles.ledger, summary });

/** The worker's settings and the providers' failure types, read once by a run (recorded in its history). */
export const { refundPolicy: readPolicy } = proxyLocalActivities<PolicyActivities>({
  ...profiles.policy,
  summary: "Read the worker's refund policy (approval threshold, retry window)",
});

/** A run's input checked against its event's schema (a run started by hand may carry anything). */
export const { checkEventData } = proxyLocalActivities<PolicyActivities>({
  ...profiles.policy,
  summary: 'Check the input against its schema',
});

/** Outcome events, retried until the receiver takes them (profiles.delivery.untilDelivered). */
export const deliveries = (summary: string) => proxyActivities<DeliveryActivities>({ ...profiles.delivery.untilDelivered, summary });

const quickDelivery = (summary: string) => proxyLocalActivities<DeliveryActivities>({ ...profiles.delivery.quick, summary });

/**
 * Tells order management how a refund ended (refund.succeeded, .failed, .requires_attention,
 * .cancelled). First tried as a local activity, a few times; if the receiver is still not taking it,
 * delivery goes on as an activity (retried until delivered, shown pending in the Web UI). Both use
 * the same delivery id.
 */
export async function tellOrderManagement(record: RefundRecord): Promise<void> {
  const summary = `Tell order management: refund.${record.status} for ${record.refundId}`;
  try {
    await quickDelivery(summary).deliverOutcome(record);
  } catch (err) {
    // A local activity's failure arrives as its own failure, not wrapped in an ActivityFailure.
    if (!(err instanceof ApplicationFailure || err instanceof ActivityFailure)) throw err;
    await deliveries(summary).deliverOutcome(record);
  }
}
