import type { ErrorCode } from '../domain/failures.js';
import type { DecisionRecord } from '../domain/operator.js';
import type { RefundStatus } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';

/** A row of `refunds` as the database gives it, and the record every reader of the ledger gets from it. */
export interface RefundRow {
  refund_id: string;
  provider: 'oen' | 'mwd';
  order_id: string;
  transaction_hid: string | null;
  amount: number;
  status: RefundStatus;
  provider_reference: string | null;
  attempts: number;
  error_code: ErrorCode | null;
  error_message: string | null;
  workflow_id: string;
  run_id: string | null;
  request_hash: string | null;
  version: number;
  decisions: DecisionRecord[] | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

export function toRecord(row: RefundRow): RefundRecord {
  return {
    refundId: row.refund_id,
    provider: row.provider,
    orderId: row.order_id,
    ...(row.transaction_hid !== null && { transactionHid: row.transaction_hid }),
    amount: row.amount,
    status: row.status,
    ...(row.provider_reference !== null && { providerReference: row.provider_reference }),
    attempts: row.attempts,
    ...(row.error_code !== null && { error: { code: row.error_code, message: row.error_message ?? '' } }),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...(row.completed_at !== null && { completedAt: row.completed_at.toISOString() }),
    workflowId: row.workflow_id,
    ...(row.run_id !== null && { runId: row.run_id }),
    version: row.version,
    ...(row.decisions && row.decisions.length > 0 && { decisions: row.decisions }),
  };
}
