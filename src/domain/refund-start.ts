import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { formatNtd, refundSummary, refundTarget } from './format.js';
import { describeDecider } from './operator.js';
import { resolveWorkflowId, type Resolution, type ResolveInput } from './resolution.js';
import type { RefundRecord } from './schemas/refund-record.js';
import type { OenRefundRequested, RefundRequested } from './schemas/refund-request.js';
import { refundAttributes, RefundStatusKey } from './search-attributes.js';

/**
 * How every refund run is started, by a client (the API, tests) or by a parent workflow: under its
 * deterministic id (one run per Oen transaction), never beside an open or succeeded run of that id,
 * but again after a failed one; with the refund id in the memo (to say who owns a refused id), a
 * readable summary, and its search attributes filterable from the first moment.
 */
export function refundStartOptions(request: RefundRequested) {
  const typedSearchAttributes: SearchAttributePair[] = [{ key: RefundStatusKey, value: 'received' }, ...refundAttributes(request)];
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
 * Whether a new refund of an Oen transaction may follow the earlier refund whose run completed under
 * the transaction's workflow id: the ledger's word (RefundLedger.mayFollow), never the run's.
 */
export type MayFollow = (request: OenRefundRequested, earlierRefundId: string) => Promise<boolean>;

/**
 * The rule both a client start and an order's child start follow: a run of `request`'s Oen
 * transaction that is completed, and names in its memo an earlier refund the ledger closed without a
 * refund (`mayFollow`), may be followed by a new run of that workflow id.
 */
export async function mayFollowRun(
  run: { status: string; memo?: Record<string, unknown> | undefined },
  request: OenRefundRequested,
  mayFollow: MayFollow,
): Promise<boolean> {
  const earlier = run.memo?.refundId;
  return run.status === 'COMPLETED' && typeof earlier === 'string' && earlier !== request.refundId && (await mayFollow(request, earlier));
}

/**
 * One run per Oen transaction: the workflow id is the transaction's, so Temporal itself refuses a
 * second open or successful run for it (money-safety rule 1). MWD refunds key on the refund id.
 * Neither carries personal data.
 */
export function refundWorkflowId(request: RefundRequested): string {
  return request.provider === 'oen' ? `oen-refund-${request.transactionHid}` : `mwd-refund-${request.refundId}`;
}

/**
 * The record of a refund the intake accepted at `receivedAt` whose run has not opened it in the ledger
 * yet: `received`, under the workflow id its run gets.
 */
export function receivedRecord(request: RefundRequested, receivedAt: string): RefundRecord {
  return {
    refundId: request.refundId,
    provider: request.provider,
    orderId: request.orderId,
    ...(request.provider === 'oen' && { transactionHid: request.transactionHid }),
    amount: request.amount,
    status: 'received',
    attempts: 0,
    createdAt: receivedAt,
    updatedAt: receivedAt,
    workflowId: refundWorkflowId(request),
  };
}

/**
 * Why a second refund of an Oen transaction is refused (money-safety rule 1), naming what holds the
 * transaction: "Oen transaction P… already has refund RF-1 (succeeded); Oen allows one refund per
 * transaction". The intake, a refund run and a client's start each refuse with it.
 */
export function oneRefundPerTransaction(transactionHid: string, holder: { refundId: string; status: string } | string): string {
  const held = typeof holder === 'string' ? holder : `refund ${holder.refundId} (${holder.status})`;
  return `Oen transaction ${transactionHid} already has ${held}; Oen allows one refund per transaction`;
}

/** The run an order.cancelled starts: one per order. */
export function orderWorkflowId(orderId: string): string {
  return `order-cancelled-${orderId}`;
}

/** The run a subscription.cancelled starts: one per subscription. */
export function subscriptionWorkflowId(subscriptionId: string): string {
  return `subscription-cancel-${subscriptionId}`;
}

/** The refund a resolution is about, as its starter read it from the ledger. */
export type RefundToResolve = Pick<RefundRecord, 'refundId' | 'provider' | 'orderId' | 'amount' | 'transactionHid' | 'status'>;

/**
 * How a resolution run (src/workflows/resolve.ts) is started: on `taskQueue` under
 * `resolveWorkflowId` — one at a time per refund (a second start while one runs is refused by
 * Temporal: WorkflowExecutionAlreadyStartedError), and again after one ended (a refusal, or a retry
 * that ended in requires_attention) — with its summary and details, and the search attributes of
 * the refund it is about (`refund`, as the starter read it from the ledger), so the Web UI's filters
 * (`OrderId="…"`, `RefundStatus="…"`) list it beside the refund's own run.
 * `client.workflow.start('resolveWorkflow', resolveStartOptions(input, refund, taskQueue))`.
 */
export function resolveStartOptions(input: ResolveInput, refund: RefundToResolve, taskQueue: string) {
  const typedSearchAttributes: SearchAttributePair[] = [{ key: RefundStatusKey, value: refund.status }, ...refundAttributes(refund)];
  return {
    taskQueue,
    workflowId: resolveWorkflowId(input.refundId),
    args: [input] as [ResolveInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    memo: { refundId: input.refundId },
    staticSummary: resolveSummary(input, refund.provider),
    staticDetails: resolveDetails(input, refund),
    typedSearchAttributes,
  };
}

/** "Resolve RF-1 as succeeded (Oen)", "Resolve RF-1 by sending it again (Oen)": a resolution run's one line. */
export function resolveSummary(input: { refundId: string; resolution: Resolution }, provider: 'oen' | 'mwd'): string {
  const how = 'action' in input.resolution ? 'by sending it again' : `as ${input.resolution.outcome}`;
  return `Resolve ${input.refundId} ${how} (${provider === 'oen' ? 'Oen' : 'MWD'})`;
}

/** A resolution run's details in the Web UI (Markdown): the refund, what the person decided, and who asked. */
export function resolveDetails(input: ResolveInput, refund: RefundToResolve): string {
  const { resolution, proof } = input;
  const decided =
    'action' in resolution
      ? ['Send it again (Oen shows the transaction still charged: checked first)', ...(resolution.reason ? [`Reason: ${resolution.reason}`] : [])]
      : [
          resolution.outcome === 'succeeded' ? `Resolved as succeeded, reference ${resolution.providerReference}` : 'Resolved as failed',
          `Evidence: ${resolution.evidence}`,
        ];
  return [
    `**Resolve refund ${input.refundId}**`,
    `Refund: ${formatNtd(refund.amount)} of ${refundTarget(refund)}, order ${refund.orderId}, ${refund.status} when asked`,
    ...decided,
    `Asked by: ${proof ? `${describeDecider(proof.actor)}, as the API signed it; the run checks the signature` : 'nobody the API signed for'}`,
  ].join('\n\n');
}
