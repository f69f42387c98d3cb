import { workflowUiUrl } from '../domain/ui.js';
import type { StoredOutcome } from '../ledger/outbox.js';
import { toRecord, type RefundRow } from '../ledger/refund-row.js';

/** Where the Web UI links in an outcome event point. */
export interface UiLinks {
  uiBaseUrl: string;
  namespace: string;
}

/** An outcome event as order management receives it (docs/api.md, "Outcome events"): a CloudEvent. */
export interface OutcomeCloudEvent {
  specversion: '1.0';
  id: string;
  source: 'refundflow';
  type: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/**
 * The CloudEvent of an outcome the ledger kept: a refund's event carries the refund's record as it
 * was at that moment (as GET /v1/refunds/:refundId gave it then), a subscription's the cancel left
 * for a person; each with the Web UI link of the run. The same event, byte for byte, whoever sends
 * or reads it (the relay, GET /v1/outcomes, a redelivery).
 */
export function outcomeCloudEvent(outcome: StoredOutcome, ui: UiLinks): OutcomeCloudEvent {
  const data = outcome.type.startsWith('refund.') ? refundData(outcome.data) : subscriptionData(outcome.data);
  const workflowId = typeof data.workflowId === 'string' ? data.workflowId : undefined;
  return {
    specversion: '1.0',
    id: outcome.eventId,
    source: 'refundflow',
    type: outcome.type,
    time: outcome.occurredAt.toISOString(),
    datacontenttype: 'application/json',
    data: { ...data, ...(workflowId !== undefined && { uiUrl: workflowUiUrl(ui.uiBaseUrl, ui.namespace, workflowId) }) },
  };
}

/** A row kept as jsonb has its times as text: the record is made from the row as the driver gives it. */
function refundData(row: Record<string, unknown>): Record<string, unknown> {
  const at = (value: unknown) => (typeof value === 'string' ? new Date(value) : null);
  return toRecord({ ...(row as unknown as RefundRow), created_at: at(row.created_at)!, updated_at: at(row.updated_at)!, completed_at: at(row.completed_at) });
}

function subscriptionData(row: Record<string, unknown>): Record<string, unknown> {
  return {
    subscriptionId: row.subscription_id,
    orderId: row.order_id,
    reason: row.reason,
    workflowId: row.workflow_id,
    recordedAt: typeof row.created_at === 'string' ? new Date(row.created_at).toISOString() : row.created_at,
  };
}
