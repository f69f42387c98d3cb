import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { hasRole } from '../domain/actor.js';
import { formatNtd } from '../domain/format.js';
import { secondPersonProblem } from '../domain/four-eyes.js';
import { resolveStartOptions } from '../domain/refund-start.js';
import { resolutionDetails, type Resolution, type ResolveRefusal, type ResolveResult } from '../domain/resolution.js';
import { fieldProblems } from '../domain/schemas/events.js';
import { outcomeBody, retryBody } from '../domain/schemas/resolution.js';
import { confirmResolutionUpdate } from '../workflows/messages.js';
import { callerOf } from './access.js';
import { problem, type Answer } from './answers.js';
import { auditTrailFor, parseJsonBody, signProof, type DecisionRouteDeps } from './decisions.js';

// The bodies' schemas live with the other public shapes (src/domain/schemas/); /openapi.json takes them from here.
export { outcomeBody, retryBody };

/**
 * POST /v1/refunds/:refundId/resolve (docs/api.md): a person settles a refund in requires_attention.
 * The API checks the body and the caller's role (an MWD outcome is an approver's word; an Oen outcome
 * or a retry, which the engine checks with Oen, an operator's), signs the resolution, and runs it as
 * its own workflow (src/workflows/resolve.ts), whose answer it gives — waiting up to 20 s, then
 * answering 202 with where to watch it. The audit trail has the attempt before the run is started or
 * asked, then `done`, `refused`, or `pending` for a 202: what the run did is its record's and its own.
 */
/** The HTTP answer for each refusal of a resolution run. */
const refusalStatus: Record<ResolveRefusal, number> = {
  invalid: 422,
  not_found: 404,
  forbidden: 403,
  not_requires_attention: 409,
  changed_meanwhile: 409,
  contradicts_provider: 409,
  provider_unreachable: 503,
  not_confirmed: 409,
};

/** Under the CLI's 30 s wait for an answer, so a long resolution is answered as running (202), not lost. */
const WAIT_FOR_RESULT_MS = 20_000;

export function registerResolveRoute(app: FastifyInstance, deps: DecisionRouteDeps & { taskQueue: string }): void {
  app.post<{ Params: { refundId: string } }>('/v1/refunds/:refundId/resolve', { config: { access: 'operator', audit: 'resolve' } }, async (request, reply) => {
    const { refundId } = request.params;
    const trail = auditTrailFor(deps.audit, request, 'resolve', refundId);
    const refuse = async (answer: Answer, statusBefore?: string, detail?: Record<string, unknown>) =>
      deps.send(reply, await trail.refused(answer, statusBefore, detail));
    if (!deps.signingKey) return refuse(problem(503, 'resolutions are disabled: OPERATOR_SIGNING_KEY is not set on this API'));
    const input = parseJsonBody(request.body);
    if (!input.ok) return refuse(problem(400, input.error));
    const value = input.value ?? {};
    const parsed = typeof value === 'object' && value !== null && 'action' in value ? retryBody.safeParse(value) : outcomeBody.safeParse(value);
    if (!parsed.success) return refuse(problem(422, 'invalid resolution', fieldProblems(parsed.error)));
    const resolution: Resolution = parsed.data;
    const record = await deps.ledger.get(refundId);
    if (!record) return refuse(problem(404, `no refund ${refundId}`));
    const asked = { resolution: describe(resolution) };
    if (record.provider === 'mwd' && 'action' in resolution) {
      return refuse(
        problem(
          409,
          `cannot retry refund ${refundId}: MWD cannot be asked whether it refunded, so nothing is sent again; resolve it as succeeded or failed with evidence (an approver)`,
        ),
        record.status,
        asked,
      );
    }
    const caller = callerOf(request);
    if (record.provider === 'mwd' && !hasRole(caller.role, 'approver')) {
      return refuse(
        problem(403, `${caller.name} is ${caller.role}; resolving an MWD refund is an approver's word (MWD cannot be asked)`),
        record.status,
        asked,
      );
    }
    if (record.status !== 'requires_attention') {
      return refuse(
        problem(409, `cannot resolve refund ${refundId}: it is ${record.status}; only a refund in requires_attention is resolved`),
        record.status,
        asked,
      );
    }
    // At DUAL_APPROVAL_THRESHOLD the first person's run waits for a second, who asks for the same
    // resolution: the run counts the two (src/workflows/second-person.ts). A credential that names no
    // one is refused here already.
    const twoPeople = deps.dualApprovalThreshold !== undefined && record.amount >= deps.dualApprovalThreshold;
    const nobody = twoPeople
      ? secondPersonProblem([], { by: { id: caller.id, name: caller.name, ...(caller.person !== undefined && { person: caller.person }) }, verified: true })
      : undefined;
    if (nobody)
      return refuse(
        problem(
          409,
          `cannot resolve refund ${refundId}: ${nobody}; resolving a refund of at least ${formatNtd(deps.dualApprovalThreshold ?? 0)} takes two people`,
        ),
        record.status,
        asked,
      );
    const proof = signProof(deps.signingKey, request, 'resolve', record, resolutionDetails(resolution));
    const options = resolveStartOptions({ refundId, resolution, proof }, record, deps.taskQueue);
    const where = { workflowId: options.workflowId, uiUrl: deps.uiUrl(options.workflowId) };
    let handle: WorkflowHandle;
    let started = false;
    await trail.attempt({ statusBefore: record.status, reason: reasonOf(resolution), detail: asked });
    try {
      handle = await deps.client.workflow.start('resolveWorkflow', options);
      started = true;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // A run under way: this may be the second person it waits for. The run judges, whatever this
      // API's own DUAL_APPROVAL_THRESHOLD says (it refuses when it needs no one else).
      handle = deps.client.workflow.getHandle(options.workflowId);
      try {
        await handle.executeUpdate(confirmResolutionUpdate, { args: [{ refundId, resolution, proof }] });
      } catch (refused) {
        if (refused instanceof WorkflowUpdateFailedError) return refuse(problem(409, refused.cause?.message ?? refused.message), record.status, asked);
        if (refused instanceof WorkflowNotFoundError || (refused instanceof Error && /already completed/i.test(refused.message))) {
          return refuse(problem(409, `the resolution of refund ${refundId} that waited for a second person has ended; ask again`), record.status, asked);
        }
        throw refused;
      }
    }
    if (twoPeople && started) {
      await trail.pending({
        statusBefore: record.status,
        statusAfter: record.status,
        reason: reasonOf(resolution),
        detail: { ...asked, person: caller.person, waitingFor: 'a second person', ...where },
      });
      return reply.code(202).send({ refundId, resolution: 'awaiting_second_person', ...where });
    }
    const result = await Promise.race([
      handle.result() as Promise<ResolveResult>,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), WAIT_FOR_RESULT_MS).unref()),
    ]);
    if (!result) {
      await trail.pending({ statusBefore: record.status, reason: reasonOf(resolution), detail: { ...asked, running: true, ...where } });
      return reply.code(202).send({ refundId, resolution: 'running', ...where });
    }
    const shown = result.providerEvidence !== undefined ? { providerEvidence: result.providerEvidence } : {};
    if (!result.resolved) {
      const answer = { statusCode: refusalStatus[result.code], body: { error: result.refused, code: result.code, ...shown, ...where } };
      return refuse(answer, result.status ?? record.status, { ...asked, code: result.code, ...shown });
    }
    await trail.done({ statusBefore: record.status, statusAfter: result.status, reason: reasonOf(resolution), detail: { ...asked, ...shown } });
    return { refundId, status: result.status, ...shown, ...where };
  });
}

function describe(resolution: Resolution): string {
  return 'action' in resolution ? 'retry' : resolution.outcome;
}

function reasonOf(resolution: Resolution): string | undefined {
  return 'action' in resolution ? resolution.reason : resolution.evidence;
}
