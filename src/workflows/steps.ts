import { ActivityFailure, ApplicationFailure, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
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
 * Whether the outcome the run just recorded is order management's news without the run: true for
 * every run from the outbox on — the ledger writes the outcome event in the same transaction as
 * the status (migration 21), and the relay in the API delivers it (src/outcomes/relay.ts). A run
 * recorded before (a history replayed, a run waiting for an approver across the upgrade) has no
 * marker here, and goes on telling as it did.
 */
export const outcomeInOutbox = (): boolean => patched('outcomes-from-outbox');

/**
 * A run recorded before the outbox tells order management how a refund ended (refund.succeeded,
 * .failed, .requires_attention, .cancelled): first as a local activity, a few times; if the
 * receiver is still not taking it, as an activity (retried until delivered, shown pending in the
 * Web UI). Both use the delivery id the outbox's event has. A run from the outbox on does nothing here.
 */
export async function tellOrderManagement(record: RefundRecord): Promise<void> {
  if (outcomeInOutbox()) return;
  const summary = `Tell order management: refund.${record.status} for ${record.refundId}`;
  try {
    await quickDelivery(summary).deliverOutcome(record);
  } catch (err) {
    // A local activity's failure arrives as its own failure, not wrapped in an ActivityFailure.
    if (!(err instanceof ApplicationFailure || err instanceof ActivityFailure)) throw err;
    await deliveries(summary).deliverOutcome(record);
  }
}
