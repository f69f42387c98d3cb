import type { WorkflowService } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { fieldProblems } from '../domain/schemas/events.js';
import { promoteBody, rampBody } from '../domain/schemas/deployments.js';
import type { AuditTrail } from '../ledger/audit.js';
import type { Release } from '../release.js';
import { deploymentStatus, makeCurrent, ramp, type DeploymentMove, type DeploymentStatus } from '../wiring/deployments.js';
import { callerOf } from './access.js';
import { problem, type Answer } from './answers.js';
import { auditTrailFor, parseJsonBody } from './decisions.js';

/**
 * Releases over HTTP (docs/api.md, "Releases"; docs/operations.md, "Releasing a new version"): what
 * `npx refundflow deploy status | promote | ramp` call. Which build new runs start on is an
 * approver's decision, audited like a refund's (`deploy.promote`, `deploy.ramp`), and Temporal
 * records the person as the deployment's last modifier. Runs already open stay on the build they
 * started on (PINNED); reconciliation moves to the current build at its next task.
 */
export { promoteBody, rampBody };

export interface DeploymentRouteDeps {
  workflowService: WorkflowService;
  namespace: string;
  /** WORKER_DEPLOYMENT_NAME: the deployment the workers poll as. */
  deploymentName: string;
  /** The release this API process runs. */
  release: Release;
  audit: AuditTrail;
  send: (reply: FastifyReply, answer: Answer) => FastifyReply;
}

/** The identities refundflow gives Temporal for its own moves: any other last modifier went round the API. */
const OWN_IDENTITY = /^refundflow (API|worker), /;

/** Temporal's refusal of a move, as the caller's problem: the build unknown, or the move not possible now. */
function temporalRefusal(err: unknown): Answer | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message.replace(/^\d+ [A-Z_]+: /, '') : String(err);
  // gRPC: 3 INVALID_ARGUMENT, 5 NOT_FOUND, 9 FAILED_PRECONDITION, 10 ABORTED.
  if (code === 5)
    return problem(
      404,
      `Temporal has no such build in the deployment: ${message} (npx refundflow deploy status lists the builds; a build is known once one of its workers polls)`,
    );
  if (code === 3 || code === 9 || code === 10) return problem(409, `Temporal refused: ${message}`);
  return undefined;
}

export function registerDeploymentRoutes(app: FastifyInstance, deps: DeploymentRouteDeps): void {
  const identity = (request: FastifyRequest) => {
    const caller = callerOf(request);
    return `refundflow API, ${caller.person} (${caller.id})`;
  };
  const status = async (): Promise<(DeploymentStatus & { changedOutsideRefundflow: boolean }) | null> => {
    const found = await deploymentStatus(deps.workflowService, deps.namespace, deps.deploymentName);
    if (!found) return null;
    return { ...found, changedOutsideRefundflow: found.lastModifiedBy !== undefined && !OWN_IDENTITY.test(found.lastModifiedBy) };
  };
  const { version, commit, buildId } = deps.release;

  app.get('/v1/deployment', { config: { access: 'viewer' } }, async () => ({
    api: { version, ...(commit && { commit }), buildId },
    deployment: await status(),
  }));

  /**
   * A move of the deployment as a route: the body checked, the audit trail's attempted row written
   * before Temporal is asked, its done row with what the move replaced, Temporal's refusal answered
   * and audited as the caller's problem.
   */
  const moveRoute = <T extends { buildId: string; reason?: string | undefined }>(
    path: string,
    action: string,
    schema: z.ZodType<T>,
    invalid: string,
    carryOut: (body: T, move: DeploymentMove) => Promise<{ replaced: Record<string, unknown>; answer: Record<string, unknown> }>,
  ) =>
    app.post(path, { config: { access: 'approver', audit: action } }, async (request, reply) => {
      const trail = auditTrailFor(deps.audit, request, action);
      const input = parseJsonBody(request.body);
      if (!input.ok) return deps.send(reply, await trail.refused(problem(400, input.error)));
      const body = schema.safeParse(input.value ?? {});
      if (!body.success) return deps.send(reply, await trail.refused(problem(422, invalid, fieldProblems(body.error))));
      const { buildId: build, reason, ...rest } = body.data;
      const detail = { deployment: deps.deploymentName, buildId: build, ...rest };
      await trail.attempt({ reason, detail });
      try {
        const move = { namespace: deps.namespace, name: deps.deploymentName, buildId: build, identity: identity(request) };
        const { replaced, answer } = await carryOut(body.data, move);
        await trail.done({ reason, detail: { ...detail, ...replaced } });
        return { ...answer, deployment: await status() };
      } catch (err) {
        const refusal = temporalRefusal(err);
        if (refusal) return deps.send(reply, await trail.refused(refusal, undefined, detail));
        throw err;
      }
    });

  moveRoute('/v1/deployment/promote', 'deploy.promote', promoteBody, 'invalid promotion', async ({ buildId: build }, move) => {
    const { previous } = await makeCurrent(deps.workflowService, move);
    return { replaced: { previous: previous ?? null }, answer: { current: build, previous: previous ?? null } };
  });

  moveRoute('/v1/deployment/ramp', 'deploy.ramp', rampBody, 'invalid ramp', async ({ buildId: build, percent }, move) => {
    const { previous, previousPercent } = await ramp(deps.workflowService, { ...move, percent });
    return {
      replaced: { previous: previous ?? null, previousPercent: previousPercent ?? null },
      answer: { ramping: percent === 0 ? null : { buildId: build, percent } },
    };
  });
}
