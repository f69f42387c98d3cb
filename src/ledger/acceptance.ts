import { throughTemporal } from '../domain/actor.js';
import type { NotRequested } from '../domain/failures.js';
import { orderRefundId } from '../domain/order.js';
import { orderWorkflowId, refundWorkflowId, subscriptionWorkflowId } from '../domain/refund-start.js';
import type { OrderCancelled, SubscriptionCancelled } from '../domain/schemas/order-events.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';
import { AuditTrail } from './audit.js';
import type { Database } from './database.js';
import { acceptedRequestHash } from './hashing.js';

/** The run asking to go on, as Temporal started it: its ids, and the workflow that started it, if one did. */
export interface AskingRun {
  workflowId: string;
  runId: string;
  parentWorkflowId?: string | undefined;
}

/** Passed: the accepted event behind the run. */
export type GateAnswer = { accepted: { eventId: string } } | NotRequested;

/** The action the audit trail records for a run the gate stopped. */
export const notRequestedAction = 'run.not_requested';

/**
 * The gate every run passes before it reaches a provider (money-safety rule 8): a run goes on only for
 * a request refundflow's intake accepted — the event in the inbox (not refused at its start), the
 * same contents (the hash the intake kept), under the workflow id the intake gives it. A refund of an
 * order's transaction passes on its parent: the accepted order.cancelled's own run. Anything else
 * (a run started through the Temporal CLI, the Web UI or a client) is stopped, and written to the
 * audit trail as started through Temporal, person unknown.
 */
export class RequestGate {
  private readonly audit: AuditTrail;

  constructor(private readonly db: Database) {
    this.audit = new AuditTrail(db);
  }

  /** A refundWorkflow: its refund.requested, or, for a refund of an order's transaction, the order's accepted cancel. */
  async refund(request: RefundRequested, run: AskingRun): Promise<GateAnswer> {
    const why = await this.refundRefusal(request, run);
    return typeof why === 'string' ? this.refuse('refundWorkflow', run, why, request.refundId) : why;
  }

  /** A refundOrderWorkflow or cancelSubscriptionWorkflow: its accepted event, same contents, same workflow id. */
  async event(type: 'order.cancelled' | 'subscription.cancelled', data: OrderCancelled | SubscriptionCancelled, run: AskingRun): Promise<GateAnswer> {
    const [workflowType, subject, expected] =
      type === 'order.cancelled'
        ? ['refundOrderWorkflow', `order ${(data as OrderCancelled).orderId}`, orderWorkflowId((data as OrderCancelled).orderId)]
        : [
            'cancelSubscriptionWorkflow',
            `subscription ${(data as SubscriptionCancelled).subscriptionId}`,
            subscriptionWorkflowId((data as SubscriptionCancelled).subscriptionId),
          ];
    if (run.workflowId !== expected) {
      return this.refuse(workflowType, run, `the intake runs the ${type} of ${subject} as ${expected}, not as ${run.workflowId}`);
    }
    const found = await this.acceptedEvents(type, data);
    const asked = acceptedRequestHash(data);
    const same = found.find((e) => acceptedRequestHash(e.data) === asked);
    if (same) return { accepted: { eventId: same.event_id } };
    const why =
      found.length === 0
        ? `the intake accepted no ${type} for ${subject}`
        : `the ${type} accepted for ${subject} (event ${found[0]!.event_id}) says something else`;
    return this.refuse(workflowType, run, why);
  }

  /** Why the refund's run may not go on, or the accepted event that lets it. */
  private async refundRefusal(request: RefundRequested, run: AskingRun): Promise<string | GateAnswer> {
    const expected = refundWorkflowId(request);
    if (run.workflowId !== expected) return `the intake runs refund ${request.refundId} as ${expected}, not as ${run.workflowId}`;
    if (run.parentWorkflowId !== undefined) return this.orderRefundRefusal(request, run.parentWorkflowId);
    const { rows } = await this.db.query<{ event_id: string; request_hash: string }>(
      `SELECT r.event_id, r.request_hash FROM refund_requests r JOIN inbox_events e ON e.event_id = r.event_id
       WHERE r.refund_id = $1 AND e.status <> 'refused'`,
      [request.refundId],
    );
    const kept = rows[0];
    if (!kept) return `the intake accepted no request for refund ${request.refundId}`;
    if (kept.request_hash !== acceptedRequestHash(request)) {
      return `refund ${request.refundId} was accepted with other contents (event ${kept.event_id}) than this run carries`;
    }
    return { accepted: { eventId: kept.event_id } };
  }

  /** A refund an order.cancelled's run started: that run's, for a transaction of that order, named as it names them. */
  private async orderRefundRefusal(request: RefundRequested, parentWorkflowId: string): Promise<string | GateAnswer> {
    if (request.provider !== 'oen' || parentWorkflowId !== orderWorkflowId(request.orderId)) {
      return `it was started by ${parentWorkflowId}, which is not the order.cancelled run of order ${request.orderId}`;
    }
    if (request.refundId !== orderRefundId(request.orderId, request.transactionHid)) {
      return `an order's refunds are named ${orderRefundId(request.orderId, request.transactionHid)}, not ${request.refundId}`;
    }
    const [order] = await this.acceptedEvents('order.cancelled', { orderId: request.orderId });
    if (!order) return `the intake accepted no order.cancelled for order ${request.orderId}`;
    return { accepted: { eventId: order.event_id } };
  }

  /** The accepted, not refused, events of `type` naming the same order or subscription, oldest first. */
  private async acceptedEvents(type: 'order.cancelled' | 'subscription.cancelled', data: { orderId: string } | { subscriptionId: string }) {
    // The literal types and keys match the partial indexes of migration 16.
    const sql =
      type === 'order.cancelled'
        ? `SELECT event_id, event -> 'data' AS data FROM inbox_events
           WHERE type = 'order.cancelled' AND event -> 'data' ->> 'orderId' = $1 AND status <> 'refused' ORDER BY received_at`
        : `SELECT event_id, event -> 'data' AS data FROM inbox_events
           WHERE type = 'subscription.cancelled' AND event -> 'data' ->> 'subscriptionId' = $1 AND status <> 'refused' ORDER BY received_at`;
    const key = 'orderId' in data ? data.orderId : data.subscriptionId;
    const { rows } = await this.db.query<{ event_id: string; data: unknown }>(sql, [key]);
    return rows;
  }

  private async refuse(workflowType: string, run: AskingRun, why: string, refundId?: string): Promise<NotRequested> {
    const notRequested =
      `Not requested: ${workflowType} ${run.workflowId} was not started by refundflow's intake for a request it accepted ` +
      `(${why}); nothing was sent to a provider`;
    await this.audit.append({
      actor: throughTemporal,
      action: notRequestedAction,
      refundId,
      outcome: 'refused',
      reason: notRequested,
      detail: {
        workflowType,
        workflowId: run.workflowId,
        runId: run.runId,
        ...(run.parentWorkflowId !== undefined && { parentWorkflowId: run.parentWorkflowId }),
      },
      requestId: run.runId,
    });
    return { notRequested };
  }
}
