import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { hasRole } from '../domain/actor.js';
import { signDecision, type DecisionProof } from '../domain/decision-proof.js';
import { resolveStartOptions } from '../domain/refund-start.js';
import { resolutionDetails, resolutionLimits, resolveWorkflowId, type Resolution, type ResolveRefusal, type ResolveResult } from '../domain/resolution.js';
import { fieldProblems } from '../domain/schemas/events.js';
import { callerOf } from './access.js';
import { problem, type Answer } from './answers.js';
import { auditTrailFor, parseJsonBody, type DecisionRouteDeps } from './decisions.js';

/**
 * POST /v1/refunds/:refundId/resolve (docs/api.md): a person settles a refund in requires_attention.
 * The API checks the body and the caller's role (an MWD outcome is an approver's word; an Oen outcome
 * or a retry, which the engine checks with Oen, an operator's), signs the resolution, and runs it as
 * its own workflow (src/workflows/resolve.ts), whose answer it gives — waiting up to 20 s, then
 * answering 202 with where to watch it. Done or refused, it is a row of the audit trail.
 */
const evidence = z
  .string()
  .trim()
  .min(1, 'is required: what shows how the refund ended (a provider screen, a statement line, a ticket)')
  .max(resolutionLimits.evidence, `must be at most ${resolutionLimits.evidence} characters`);

export const outcomeBody = z.discriminatedUnion('outcome', [
  z
    .object({
      outcome: z.literal('succeeded'),
      providerReference: z.string().trim().min(1, 'is required').max(resolutionLimits.providerReference, `must be at most ${resolutionLimits.providerReference} characters`),
      evidence,
    })
    .strict(),
  z.object({ outcome: z.literal('failed'), evidence }).strict(),
]);

export const retryBody = z
  .object({ action: z.literal('retry'), reason: z.string().max(resolutionLimits.reason, `must be at most ${resolutionLimits.reason} characters`).optional() })
  .strict();

/** The HTTP answer for each refusal of a resolution run. */
const refusalStatus: Record<ResolveRefusal, number> = {
  invalid: 422,
  not_found: 404,
  forbidden: 403,
  not_requires_attention: 409,
  changed_meanwhile: 409,
  contradicts_provider: 409,
  provider_unreachable: 503,
};

/** Under the CLI's 30 s wait for an answer, so a long resolution is told as running (202), not lost. */
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
      return refuse(problem(409, `cannot retry refund ${refundId}: MWD cannot be asked whether it refunded, so nothing is sent again; resolve it as succeeded or failed with evidence (an approver)`), record.status, asked);
    }
    const caller = callerOf(request);
    if (record.provider === 'mwd' && !hasRole(caller.role, 'approver')) {
      return refuse(problem(403, `${caller.name} is ${caller.role}; resolving an MWD refund is an approver's word (MWD cannot be asked)`), record.status, asked);
    }
    if (record.status !== 'requires_attention') {
      return refuse(problem(409, `cannot resolve refund ${refundId}: it is ${record.status}; only a refund in requires_attention is resolved`), record.status, asked);
    }
    const proof = signResolution(deps.signingKey, request, refundId, resolutionDetails(resolution));
    const options = resolveStartOptions({ refundId, resolution, proof }, record, deps.taskQueue);
    const where = { workflowId: options.workflowId, uiUrl: deps.uiUrl(options.workflowId) };
    let result: ResolveResult | undefined;
    try {
      const handle = await deps.client.workflow.start('resolveWorkflow', options);
      result = await Promise.race([
        handle.result() as Promise<ResolveResult>,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), WAIT_FOR_RESULT_MS).unref()),
      ]);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return refuse(problem(409, `a resolution of refund ${refundId} is already running (${options.workflowId}); wait for it`), record.status, asked);
      }
      throw err;
    }
    if (!result) {
      await trail.done({ statusBefore: record.status, statusAfter: 'submitting', reason: reasonOf(resolution), detail: { ...asked, running: true } });
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

/**
 * The API's signed word for one resolution: it names the resolution's workflow, and the run of it
 * that presents it first claims it in the ledger, so the proof — readable in that run's input — is
 * good for that run only (src/workflows/resolve.ts).
 */
function signResolution(signingKey: string, request: FastifyRequest, refundId: string, details: string): DecisionProof {
  const { id, name, role, via } = callerOf(request);
  const unsigned = { action: 'resolve' as const, refundId, workflowId: resolveWorkflowId(refundId), actor: { id, name, role, via }, requestId: request.id, issuedAt: Date.now() };
  return signDecision(unsigned, details, signingKey);
}

function describe(resolution: Resolution): string {
  return 'action' in resolution ? 'retry' : resolution.outcome;
}

function reasonOf(resolution: Resolution): string | undefined {
  return 'action' in resolution ? resolution.reason : resolution.evidence;
}
