import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import axios from 'axios';
import { Signer } from '../api/signature.js';
import type { RefundRecord } from '../domain/refund.js';
import { workflowUiUrl } from '../domain/ui.js';

/** Where outcome events go (ARCHITECTURE.md, "Outcome events"); unset: nowhere. */
export interface OutcomeTarget {
  url: string;
  secret: string;
  uiBaseUrl: string;
  namespace: string;
}

export interface OutcomeDeps {
  outcomes?: OutcomeTarget;
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

export type DeliveryResult = { delivered: true; deliveryId: string; status: number } | { delivered: false; reason: string };

export function createOutcomeActivities({ outcomes }: OutcomeDeps) {
  return {
    /**
     * POSTs the outcome as a signed CloudEvent. Any answer but 2xx, or none, fails the attempt, and
     * Temporal retries it until the receiver takes it: "retried until delivered".
     */
    deliverOutcome: async (record: RefundRecord): Promise<DeliveryResult> => {
      if (!outcomes) return { delivered: false, reason: 'OUTCOME_WEBHOOK_URL is not set' };
      if (!(record.status in outcomeTypes)) {
        throw ApplicationFailure.nonRetryable(`no outcome event for status ${record.status}`, 'NoOutcomeEvent');
      }
      const deliveryId = outcomeDeliveryId(record);
      const body = JSON.stringify({
        specversion: '1.0',
        id: deliveryId,
        source: 'refundflow',
        type: outcomeTypes[record.status as OutcomeStatus],
        time: record.updatedAt,
        datacontenttype: 'application/json',
        data: { ...record, uiUrl: workflowUiUrl(outcomes.uiBaseUrl, outcomes.namespace, record.workflowId) },
      });
      const response = await axios.post(outcomes.url, body, {
        headers: { 'content-type': 'application/json', ...new Signer(outcomes.secret).sign(deliveryId, body) },
        timeout: 10_000,
        signal: Context.current().cancellationSignal,
        validateStatus: () => true,
        maxRedirects: 0,
      });
      if (response.status < 200 || response.status >= 300) {
        throw new Error(`the outcome receiver answered HTTP ${response.status} to delivery ${deliveryId}; it will be sent again`);
      }
      return { delivered: true, deliveryId, status: response.status };
    },
  };
}
