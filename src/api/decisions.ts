import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decisionRole, signDecision, type DecisionAction, type DecisionProof } from '../domain/decision-proof.js';
import { fieldProblems } from '../domain/schemas/events.js';
import { operatorInput } from '../domain/schemas/operator.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { resolveWorkflowId } from '../domain/resolution.js';
import { AuditedAction, type AuditFields, type AuditTrail } from '../ledger/audit.js';
import type { RefundLedger } from '../ledger/refunds.js';
import { approveUpdate, cancelUpdate, rejectUpdate } from '../workflows/messages.js';
import { callerOf } from './access.js';
import { problem, type Answer } from './answers.js';

/**
 * Approve, reject and cancel (docs/api.md): the API checks the caller's role, signs the decision
 * with its key (src/domain/decision-proof.ts) and sends it to the run that owns the refund, which
 * checks the signature again. The audit trail has the attempt before the run is asked, then how it
 * ended (auditTrailFor).
 */
/** What the routes that carry a person's decision to a run need (these and resolve.ts's). */
export interface DecisionRouteDeps {
  client: Client;
  ledger: RefundLedger;
  audit: AuditTrail;
  signingKey?: string | undefined;
  /** DUAL_APPROVAL_THRESHOLD: a resolution of a refund of at least this much is asked for by two people. */
  dualApprovalThreshold?: number | undefined;
  uiUrl: (workflowId: string) => string;
  send: (reply: FastifyReply, answer: Answer) => FastifyReply;
}

const decisions = {
  approve: { update: approveUpdate, role: decisionRole.approve },
  reject: { update: rejectUpdate, role: decisionRole.reject },
  cancel: { update: cancelUpdate, role: decisionRole.cancel },
} as const;

export function registerDecisionRoutes(app: FastifyInstance, deps: DecisionRouteDeps): void {
  for (const [action, { update, role }] of Object.entries(decisions)) {
    app.post<{ Params: { refundId: string } }>(`/v1/refunds/:refundId/${action}`, { config: { access: role, audit: action } }, async (request, reply) => {
      const { refundId } = request.params;
      const trail = auditTrailFor(deps.audit, request, action, refundId);
      const refuse = async (answer: Answer, statusBefore?: string) => deps.send(reply, await trail.refused(answer, statusBefore));
      if (!deps.signingKey) return refuse(problem(503, 'decisions are disabled: OPERATOR_SIGNING_KEY is not set on this API'));
      const input = parseJsonBody(request.body);
      if (!input.ok) return refuse(problem(400, input.error));
      const body = operatorInput.safeParse(input.value ?? {});
      if (!body.success) return refuse(problem(422, 'invalid operator input', fieldProblems(body.error)));
      const record = await deps.ledger.get(refundId);
      if (!record) return refuse(problem(404, `no refund ${refundId}`));
      if (body.data.refundId !== undefined && body.data.refundId !== refundId) {
        return refuse(problem(422, 'invalid operator input', [{ field: 'refundId', problem: `names ${body.data.refundId}, not ${refundId}` }]), record.status);
      }
      const { reason } = body.data;
      const proof = signProof(deps.signingKey, request, action as DecisionAction, record, reason ?? '');
      const { person } = callerOf(request);
      await trail.attempt({ statusBefore: record.status, reason, ...(person !== undefined && { detail: { person } }) });
      try {
        // The run that owns the refund, never the newest run of its workflow id (a later refund of the
        // same Oen transaction runs under the same id): money-safety rule 7.
        const progress = await deps.client.workflow
          .getHandle(record.workflowId, record.runId)
          .executeUpdate(update, { args: [{ refundId, ...(reason !== undefined && { reason }), proof }] });
        // Which people approved so far, as the run counted them: the trail says who the four eyes were.
        const people = action === 'approve' ? { detail: { person, approvals: progress.approvals } } : {};
        await trail.done({ statusBefore: record.status, statusAfter: progress.status, reason, ...people });
        return { ...progress, workflowId: record.workflowId, uiUrl: deps.uiUrl(record.workflowId) };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) return refuse(problem(409, err.cause?.message ?? err.message), record.status);
        if (err instanceof WorkflowNotFoundError || isClosedRunError(err)) {
          return refuse(problem(409, `cannot ${action}: refund ${refundId} is ${record.status} and its run has ended`), record.status);
        }
        throw err;
      }
    });
  }
}

/** The API's signed word that `request`'s caller decided `action` on `record` (with `details`). */
export function signProof(
  signingKey: string,
  request: FastifyRequest,
  action: DecisionAction,
  record: Pick<RefundRecord, 'refundId' | 'runId'>,
  details: string,
): DecisionProof {
  const { id, name, role, via, person, heldBy } = callerOf(request);
  const actor = { id, name, role, via, ...(person !== undefined && { person }), ...(heldBy !== undefined && { heldBy }) };
  return signDecision(
    {
      action,
      refundId: record.refundId,
      ...(record.runId !== undefined && action !== 'resolve' && { runId: record.runId }),
      // A resolution names the run it is for, which claims it once (src/ledger/resolution.ts).
      ...(action === 'resolve' && { workflowId: resolveWorkflowId(record.refundId) }),
      actor,
      requestId: request.id,
      issuedAt: Date.now(),
    },
    details,
    signingKey,
  );
}

/**
 * One operator request in the audit trail (AuditedAction, src/ledger/audit.ts): `attempt` before the
 * action is carried out (AuditUnavailable is answered 503, and the route does nothing), then `done`,
 * `pending` or `refused`; an outcome lost after the attempt is logged with the request. `refused`
 * takes the answer the caller gets, and keeps its error and HTTP status.
 */
export function auditTrailFor(audit: AuditTrail, request: FastifyRequest, action: string, refundId?: string) {
  const caller = callerOf(request);
  const trail = new AuditedAction(
    audit,
    { actor: { id: caller.id, name: caller.name, role: caller.role }, action, refundId, requestId: request.id },
    (err, outcome) =>
      request.log.error({ err, action, refundId }, `${action} was carried out but its outcome (${outcome}) is not in the audit trail; its attempted row is`),
  );
  return {
    attempt: (fields: Pick<AuditFields, 'statusBefore' | 'reason' | 'detail'> = {}) => trail.attempt(fields),
    done: (fields: AuditFields) => trail.done(fields),
    pending: (fields: AuditFields) => trail.pending(fields),
    refused: async (answer: Answer, statusBefore?: string, detail?: Record<string, unknown>): Promise<Answer> => {
      const reason = (answer.body as { error?: string }).error;
      await trail.refused({ statusBefore, statusAfter: statusBefore, reason, detail: { httpStatus: answer.statusCode, ...detail } });
      return answer;
    },
  };
}

export function parseJsonBody(body: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!Buffer.isBuffer(body) || body.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, error: `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function isClosedRunError(err: unknown): boolean {
  return err instanceof Error && /already completed|workflow execution already completed/i.test(err.message);
}
