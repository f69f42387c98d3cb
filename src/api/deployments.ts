import type { WorkflowService } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fieldProblems } from '../domain/schemas/events.js';
import { promoteBody, rampBody } from '../domain/schemas/deployments.js';
import type { AuditTrail } from '../ledger/audit.js';
import type { Release } from '../release.js';
import { deploymentStatus, makeCurrent, ramp, type DeploymentStatus } from '../wiring/deployments.js';
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

  app.post('/v1/deployment/promote', { config: { access: 'approver', audit: 'deploy.promote' } }, async (request, reply) => {
    const trail = auditTrailFor(deps.audit, request, 'deploy.promote');
    const input = parseJsonBody(request.body);
    if (!input.ok) return deps.send(reply, await trail.refused(problem(400, input.error)));
    const body = promoteBody.safeParse(input.value ?? {});
    if (!body.success) return deps.send(reply, await trail.refused(problem(422, 'invalid promotion', fieldProblems(body.error))));
    const { buildId: build, reason } = body.data;
    const detail = { deployment: deps.deploymentName, buildId: build };
    await trail.attempt({ reason, detail });
    try {
      const { previous } = await makeCurrent(deps.workflowService, {
        namespace: deps.namespace,
        name: deps.deploymentName,
        buildId: build,
        identity: identity(request),
      });
      await trail.done({ reason, detail: { ...detail, previous: previous ?? null } });
      return { current: build, previous: previous ?? null, deployment: await status() };
    } catch (err) {
      const refusal = temporalRefusal(err);
      if (refusal) return deps.send(reply, await trail.refused(refusal, undefined, detail));
      throw err;
    }
  });

  app.post('/v1/deployment/ramp', { config: { access: 'approver', audit: 'deploy.ramp' } }, async (request, reply) => {
    const trail = auditTrailFor(deps.audit, request, 'deploy.ramp');
    const input = parseJsonBody(request.body);
    if (!input.ok) return deps.send(reply, await trail.refused(problem(400, input.error)));
    const body = rampBody.safeParse(input.value ?? {});
    if (!body.success) return deps.send(reply, await trail.refused(problem(422, 'invalid ramp', fieldProblems(body.error))));
    const { buildId: build, percent, reason } = body.data;
    const detail = { deployment: deps.deploymentName, buildId: build, percent };
    await trail.attempt({ reason, detail });
    try {
      const previous = await ramp(deps.workflowService, {
        namespace: deps.namespace,
        name: deps.deploymentName,
        buildId: build,
        percent,
        identity: identity(request),
      });
      await trail.done({ reason, detail: { ...detail, previous: previous.previous ?? null, previousPercent: previous.previousPercent ?? null } });
      return { ramping: percent === 0 ? null : { buildId: build, percent }, deployment: await status() };
    } catch (err) {
      const refusal = temporalRefusal(err);
      if (refusal) return deps.send(reply, await trail.refused(refusal, undefined, detail));
      throw err;
    }
  });
}
