import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import axios from 'axios';
import { Signer } from '../webhooks/signing.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { OutcomeDeliveryLog } from '../ledger/outcomes.js';
import type { UnconfirmedSubscriptionCancel } from '../ledger/subscriptions.js';
import { workflowUiUrl } from '../domain/ui.js';

/** Where outcome events go (docs/api.md, "Outcome events"); unset: nowhere. */
export interface OutcomeTarget {
  url: string;
  secret: string;
  uiBaseUrl: string;
  namespace: string;
}

export interface OutcomeDeps {
  outcomes?: OutcomeTarget;
  /** Where failed deliveries are kept until they succeed (the API's /metrics counts them); unset: nowhere. */
  deliveryLog?: OutcomeDeliveryLog;
}

export const outcomeTypes = {
  succeeded: 'refund.succeeded',
  failed: 'refund.failed',
  requires_attention: 'refund.requires_attention',
  cancelled: 'refund.cancelled',
} as const;
export type OutcomeStatus = keyof typeof outcomeTypes;

/**
 * One delivery id per outcome, the same on every retry and after a Reset: the refund, its status
 * and the moment the ledger recorded it. A later outcome of the same refund (run again after it
 * failed) is a new outcome with a new id.
 */
export function outcomeDeliveryId(record: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt'>): string {
  return `${record.refundId}.${record.status}.${Date.parse(record.updatedAt)}`;
}

/** An outcome event to send; `subject` (the refund or subscription id) names it in the delivery log. */
interface OutcomeEvent {
  id: string;
  type: string;
  time: string;
  subject: string;
  data: unknown;
}

export type DeliveryResult = { delivered: true; deliveryId: string; status: number } | { delivered: false; reason: string };

/** One delivery id per unconfirmed subscription cancel: the subscription and when it was recorded. */
export function subscriptionDeliveryId(cancel: Pick<UnconfirmedSubscriptionCancel, 'subscriptionId' | 'recordedAt'>): string {
  return `${cancel.subscriptionId}.requires_attention.${Date.parse(cancel.recordedAt)}`;
}

export function createOutcomeActivities({ outcomes, deliveryLog }: OutcomeDeps) {
  /**
   * POSTs an outcome as a signed CloudEvent. Any answer but 2xx, or none, fails the attempt, and
   * Temporal retries it until the receiver takes it: "retried until delivered". A failed attempt is
   * noted in the delivery log, and the delivery that follows clears it.
   */
  const post = async (target: OutcomeTarget, event: OutcomeEvent): Promise<DeliveryResult> => {
    let result: DeliveryResult;
    try {
      result = await send(target, event);
    } catch (err) {
      await deliveryLog?.failed({ deliveryId: event.id, type: event.type, subject: event.subject });
      throw err;
    }
    await deliveryLog?.delivered(event.id);
    return result;
  };

  const send = async (target: OutcomeTarget, event: OutcomeEvent): Promise<DeliveryResult> => {
    const body = JSON.stringify({
      specversion: '1.0',
      id: event.id,
      source: 'refundflow',
      type: event.type,
      time: event.time,
      datacontenttype: 'application/json',
      data: event.data,
    });
    const response = await axios.post(target.url, body, {
      headers: { 'content-type': 'application/json', ...new Signer(target.secret).sign(event.id, body) },
      timeout: 10_000,
      signal: Context.current().cancellationSignal,
      validateStatus: () => true,
      maxRedirects: 0,
    });
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`the outcome receiver answered HTTP ${response.status} to delivery ${event.id}; it will be sent again`);
    }
    return { delivered: true, deliveryId: event.id, status: response.status };
  };

  return {
    /** Tells order management how a refund ended: refund.<status>. */
    deliverOutcome: async (record: RefundRecord): Promise<DeliveryResult> => {
      if (!outcomes) return { delivered: false, reason: 'OUTCOME_WEBHOOK_URL is not set' };
      if (!(record.status in outcomeTypes)) {
        throw ApplicationFailure.nonRetryable(`no outcome event for status ${record.status}`, 'NoOutcomeEvent');
      }
      return post(outcomes, {
        id: outcomeDeliveryId(record),
        type: outcomeTypes[record.status as OutcomeStatus],
        time: record.updatedAt,
        subject: record.refundId,
        data: { ...record, uiUrl: workflowUiUrl(outcomes.uiBaseUrl, outcomes.namespace, record.workflowId) },
      });
    },

    /** Tells order management a subscription its order.cancelled asked to cancel was not confirmed cancelled. */
    deliverSubscriptionOutcome: async (cancel: UnconfirmedSubscriptionCancel): Promise<DeliveryResult> => {
      if (!outcomes) return { delivered: false, reason: 'OUTCOME_WEBHOOK_URL is not set' };
      return post(outcomes, {
        id: subscriptionDeliveryId(cancel),
        type: 'subscription.requires_attention',
        time: cancel.recordedAt,
        subject: cancel.subscriptionId,
        data: { ...cancel, uiUrl: workflowUiUrl(outcomes.uiBaseUrl, outcomes.namespace, cancel.workflowId) },
      });
    },
  };
}
