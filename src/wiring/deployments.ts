import type { temporal } from '@temporalio/proto';
import type { AuditTrail } from '../ledger/audit.js';

/**
 * The engine's Worker Deployment on Temporal (docs/engine.md, "Releases"): what `npx refundflow
 * deploy status` shows, and the two moves a release makes — a build current, or a share of new
 * runs ramped to it. Over the connection's raw WorkflowService, which the worker's NativeConnection
 * and the API's Connection both have.
 */
type WorkflowService = temporal.api.workflowservice.v1.WorkflowService;

export type VersionState = 'inactive' | 'current' | 'ramping' | 'draining' | 'drained';

export interface VersionStatus {
  buildId: string;
  /** Temporal's word for the version: `draining` and `drained` are refreshed by Temporal every few minutes. */
  state: VersionState;
  createdAt?: string;
  /** When Temporal last counted the version's open pinned runs for its drainage (draining or drained). */
  drainageCheckedAt?: string;
  /** Runs pinned to this build still open, counted now (visibility). */
  openPinnedRuns: number;
}

export interface DeploymentStatus {
  name: string;
  /** The build new runs start on (with none: no build is current, and new runs wait for one). */
  current?: string;
  ramping?: { buildId: string; percent: number };
  /** Who last changed which build is current or ramping (the identity Temporal recorded). */
  lastModifiedBy?: string;
  versions: VersionStatus[];
}

const states: Record<number, VersionState> = { 1: 'inactive', 2: 'current', 3: 'ramping', 4: 'draining', 5: 'drained' };

/** gRPC's NOT_FOUND (code 5): no deployment of that name yet (no versioned worker has polled). */
function notFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 5;
}

function isoOf(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  if (!timestamp?.seconds) return undefined;
  const seconds = Number(timestamp.seconds);
  return new Date(seconds * 1000 + Math.round((timestamp.nanos ?? 0) / 1e6)).toISOString();
}

/** The visibility query for the open runs pinned to one build (Temporal's own search attributes). */
export function openPinnedRunsQuery(name: string, buildId: string): string {
  return `TemporalWorkerDeploymentVersion = '${name}:${buildId}' AND TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'`;
}

/** The deployment as it is now; undefined when Temporal has none of that name. */
export async function deploymentStatus(service: WorkflowService, namespace: string, name: string): Promise<DeploymentStatus | undefined> {
  let info: temporal.api.deployment.v1.IWorkerDeploymentInfo | null | undefined;
  try {
    ({ workerDeploymentInfo: info } = await service.describeWorkerDeployment({ namespace, deploymentName: name }));
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
  const routing = info?.routingConfig;
  const current = routing?.currentDeploymentVersion?.buildId ?? undefined;
  const rampingBuild = routing?.rampingDeploymentVersion?.buildId ?? undefined;
  const versions = await Promise.all(
    (info?.versionSummaries ?? []).map(async (summary): Promise<VersionStatus> => {
      const buildId = summary.deploymentVersion?.buildId ?? '';
      const { count } = await service.countWorkflowExecutions({ namespace, query: openPinnedRunsQuery(name, buildId) });
      const createdAt = isoOf(summary.createTime);
      const drainageCheckedAt = isoOf(summary.drainageInfo?.lastCheckedTime);
      return {
        buildId,
        state: states[summary.status ?? 0] ?? 'inactive',
        ...(createdAt && { createdAt }),
        ...(drainageCheckedAt && { drainageCheckedAt }),
        openPinnedRuns: Number(count ?? 0),
      };
    }),
  );
  versions.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
  return {
    name,
    ...(current && { current }),
    ...(rampingBuild && { ramping: { buildId: rampingBuild, percent: routing?.rampingVersionPercentage ?? 0 } }),
    ...(info?.lastModifierIdentity && { lastModifiedBy: info.lastModifierIdentity }),
    versions,
  };
}

export interface DeploymentMove {
  namespace: string;
  name: string;
  buildId: string;
  /** Recorded by Temporal as who made the move (the deployment's last modifier). */
  identity: string;
}

/** Makes `buildId` the build new runs start on (and unversioned and auto-upgrading runs move to). */
export async function makeCurrent(service: WorkflowService, move: DeploymentMove, conflictToken?: Uint8Array | null): Promise<{ previous?: string }> {
  const answer = await service.setWorkerDeploymentCurrentVersion({
    namespace: move.namespace,
    deploymentName: move.name,
    buildId: move.buildId,
    identity: move.identity,
    // With the token of a read: refused if the deployment changed since (another build made current meanwhile).
    ...(conflictToken && { conflictToken }),
  });
  const previous = answer.previousDeploymentVersion?.buildId ?? undefined;
  return previous ? { previous } : {};
}

/** Sends `percent` of new runs to `buildId` (0 ends the ramp: every new run to the current build). */
export async function ramp(service: WorkflowService, move: DeploymentMove & { percent: number }): Promise<{ previous?: string; previousPercent?: number }> {
  const answer = await service.setWorkerDeploymentRampingVersion({
    namespace: move.namespace,
    deploymentName: move.name,
    ...(move.percent === 0 ? {} : { buildId: move.buildId }),
    percentage: move.percent,
    identity: move.identity,
  });
  const previous = answer.previousDeploymentVersion?.buildId ?? undefined;
  return previous ? { previous, previousPercent: answer.previousPercentage ?? 0 } : {};
}

export type FirstVersionOutcome = { kind: 'made-current' } | { kind: 'already-current' } | { kind: 'other-current'; current: string };

/**
 * A deployment's first build is made current by its own worker: with no build current, new runs
 * would wait for an operator's `deploy promote` on a Temporal that never had a second build. Only
 * when none is current: every later build waits for `deploy promote` or `deploy ramp`. Waits (up to
 * `timeoutMs`) for Temporal to know this build, which it does once the worker has polled.
 */
export async function makeCurrentIfFirst(
  service: WorkflowService,
  move: DeploymentMove,
  {
    timeoutMs = 60_000,
    pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  }: { timeoutMs?: number; pause?: (ms: number) => Promise<void> } = {},
): Promise<FirstVersionOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await service.describeWorkerDeployment({ namespace: move.namespace, deploymentName: move.name }).catch((err: unknown) => {
      if (notFound(err)) return undefined;
      throw err;
    });
    const info = described?.workerDeploymentInfo;
    const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
    if (current === move.buildId) return { kind: 'already-current' };
    if (current !== undefined) return { kind: 'other-current', current };
    if (info?.versionSummaries?.some((v) => v.deploymentVersion?.buildId === move.buildId)) {
      try {
        // The read's conflict token: a build another worker made current since is not overridden.
        await makeCurrent(service, move, described?.conflictToken);
        return { kind: 'made-current' };
      } catch (err) {
        // Read again: a build made current meanwhile is said as such.
        if (Date.now() > deadline) throw err;
      }
    } else if (Date.now() > deadline) {
      throw new Error(
        `Temporal does not know build ${move.buildId} of deployment ${move.name} ${Math.round(timeoutMs / 1000)} s after the worker started polling`,
      );
    }
    await pause(500);
  }
}

/**
 * What a versioned worker does once it polls (src/worker.ts, and `npm start` on a given Temporal):
 * the deployment's first build is made current (`makeCurrentIfFirst`), and the audit trail says so;
 * a later build is said to wait for `npx refundflow deploy promote`. Never throws: a failure is
 * logged, and the worker goes on serving the runs routed to its build.
 */
export async function firstBuildCurrent(
  service: WorkflowService,
  audit: AuditTrail,
  deployment: { namespace: string; name: string; buildId: string },
  log: { info(line: string): void; error(line: string): void },
): Promise<FirstVersionOutcome | undefined> {
  const identity = `refundflow worker, build ${deployment.buildId}: the deployment's first build`;
  try {
    const outcome = await makeCurrentIfFirst(service, { ...deployment, identity });
    if (outcome.kind === 'other-current') {
      log.info(
        `Build ${deployment.buildId} is polling; build ${outcome.current} is current, and new runs start on it until ` +
          `npx refundflow deploy promote ${deployment.buildId} (or deploy ramp): docs/operations.md, "Releasing a new version"`,
      );
    } else if (outcome.kind === 'already-current') {
      log.info(`Build ${deployment.buildId} is the current build of deployment ${deployment.name}`);
    } else {
      log.info(`Build ${deployment.buildId} is the first build of deployment ${deployment.name}: made current`);
      await audit.append({
        actor: { id: 'worker', name: identity },
        action: 'deploy.first',
        outcome: 'done',
        detail: { deployment: deployment.name, buildId: deployment.buildId },
        requestId: `worker:${deployment.buildId}`,
      });
    }
    return outcome;
  } catch (err) {
    log.error(
      `Could not check whether build ${deployment.buildId} is deployment ${deployment.name}'s first: ${err instanceof Error ? err.message : String(err)}`,
    );
    return undefined;
  }
}
