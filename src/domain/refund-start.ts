import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { formatNtd, refundSummary } from './format.js';
import type { RefundRequested } from './schemas/refund-request.js';
import { OrderIdKey, RefundAmountKey, RefundProviderKey, RefundStatusKey, TransactionHidKey } from './search-attributes.js';

/**
 * How every refund run is started, by a client (the API, tests) or by a parent workflow: under its
 * deterministic id (one run per Oen transaction), never beside an open or succeeded run of that id,
 * but again after a failed one; with the refund id in the memo (to say who owns a refused id), a
 * readable summary, and its search attributes filterable from the first moment.
 */
export function refundStartOptions(request: RefundRequested) {
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: RefundStatusKey, value: 'received' },
    { key: RefundProviderKey, value: request.provider },
    { key: OrderIdKey, value: request.orderId },
    { key: RefundAmountKey, value: request.amount },
  ];
  if (request.provider === 'oen') typedSearchAttributes.push({ key: TransactionHidKey, value: request.transactionHid });
  return {
    workflowId: refundWorkflowId(request),
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    memo: { refundId: request.refundId },
    staticSummary: refundSummary(request),
    staticDetails: refundDetails(request),
    typedSearchAttributes,
  };
}

/**
 * The run's details in the Web UI (Markdown). Its status and last error are the run's current details
 * and the RefundStatus search attribute, which change as it goes.
 */
export function refundDetails(request: RefundRequested): string {
  const provider =
    request.provider === 'oen'
      ? `Oen Tech, card transaction ${request.transactionHid} (one refund per transaction)`
      : 'MWD pay+, refund by order with the card token';
  return [
    `**Refund ${request.refundId}**`,
    `Amount: ${formatNtd(request.amount)}`,
    `Order: ${request.orderId}`,
    `Provider: ${provider}`,
    ...(request.reason ? [`Reason: ${request.reason}`] : []),
  ].join('\n\n');
}

/**
 * One run per Oen transaction: the workflow id is the transaction's, so Temporal itself refuses a
 * second open or successful run for it (money-safety rule 1). MWD refunds key on the refund id.
 * Neither carries personal data.
 */
export function refundWorkflowId(request: RefundRequested): string {
  return request.provider === 'oen' ? `oen-refund-${request.transactionHid}` : `mwd-refund-${request.refundId}`;
}
