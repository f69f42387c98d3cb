import type { Command } from 'commander';
import { promoteBody, rampBody } from '../domain/schemas/deployments.js';
import { callApi, type CliContext } from './api.js';
import { checkedBy, decimal } from './flags.js';
import { print } from './output.js';

/**
 * Releases (docs/operations.md, "Releasing a new version"): `deploy status` shows the engine's Worker
 * Deployment — which build new runs start on, which is ramping, and for every build the runs still
 * pinned to it, so an old build's workers are stopped only once it is drained; `deploy promote` and
 * `deploy ramp` move new runs to a build (approver; audited), through the API.
 */
interface VersionLine {
  buildId: string;
  state: string;
  createdAt?: string;
  openPinnedRuns: number;
}

interface StatusBody {
  api: { version: string; commit?: string; buildId: string };
  deployment: {
    name: string;
    current?: string;
    ramping?: { buildId: string; percent: number };
    lastModifiedBy?: string;
    changedOutsideRefundflow: boolean;
    versions: VersionLine[];
  } | null;
}

/** What an operator does next about one build, from its state and its open pinned runs. */
function versionAdvice(v: VersionLine): string {
  if (v.state === 'current' || v.state === 'ramping') return 'new runs start here';
  if (v.state === 'inactive') return 'no new runs (deploy promote or deploy ramp to use it)';
  if (v.openPinnedRuns > 0) return `draining: keep its workers running for the ${v.openPinnedRuns} pinned run${v.openPinnedRuns === 1 ? '' : 's'}`;
  return v.state === 'drained' ? 'drained: its workers may stop' : 'no pinned run open: its workers may stop once Temporal says drained';
}

/** The deployment's lines: which build is current and ramping, who changed it, and each build's state. */
export function deploymentText(d: StatusBody['deployment']): string {
  if (!d) return 'no Worker Deployment yet: no worker with WORKER_VERSIONING on has polled this Temporal';
  const lines = [`deployment ${d.name}: current ${d.current ?? '(none: new runs wait for a build to be made current)'}`];
  if (d.ramping) lines.push(`  ramping ${d.ramping.buildId} at ${d.ramping.percent} % of new runs`);
  if (d.lastModifiedBy)
    lines.push(`  last changed by ${d.lastModifiedBy}${d.changedOutsideRefundflow ? '  (NOT through refundflow: not in the audit trail)' : ''}`);
  lines.push(`  ${'build'.padEnd(50)} ${'state'.padEnd(10)} ${'pinned runs open'.padStart(16)}`);
  for (const v of d.versions) {
    lines.push(`  ${v.buildId.padEnd(50)} ${v.state.padEnd(10)} ${String(v.openPinnedRuns).padStart(16)}   ${versionAdvice(v)}`);
  }
  return lines.join('\n');
}

export function deployCommands(program: Command, ctx: () => CliContext): void {
  const deploy = program
    .command('deploy')
    .description(
      "releases: which build of the workers new runs start on, and which old builds still hold pinned runs (docs/operations.md, 'Releasing a new version')",
    );

  deploy
    .command('status')
    .description('the builds of the Worker Deployment: current, ramping, draining, drained, and the runs still pinned to each (viewer)')
    .action(async () => {
      const c = ctx();
      const { body } = await callApi(c, 'GET', '/v1/deployment', { use: 'optional' });
      const status = body as unknown as StatusBody;
      print(c, body, () => [`this API: refundflow ${status.api.version}, build ${status.api.buildId}`, deploymentText(status.deployment)].join('\n'));
    });

  deploy
    .command('promote')
    .description('make a build current: every new run starts on it; open runs stay on the build they started on (approver; audited)')
    .argument('<buildId>', 'the build, as deploy status lists it', checkedBy('<buildId>', promoteBody.shape.buildId))
    .option('--reason <text>', 'why, for the audit trail', checkedBy('--reason', promoteBody.shape.reason))
    .action(async (buildId: string, o: { reason?: string }) => {
      const c = ctx();
      const { body } = await callApi(c, 'POST', '/v1/deployment/promote', {
        use: 'required',
        body: JSON.stringify({ buildId, ...(o.reason && { reason: o.reason }) }),
      });
      const previous = body.previous as string | null;
      print(c, body, () =>
        [
          `${buildId} is current: new runs start on it${previous ? `; ${previous} keeps its pinned runs until they end` : ''}`,
          deploymentText((body as Pick<StatusBody, 'deployment'>).deployment),
        ].join('\n'),
      );
    });

  deploy
    .command('ramp')
    .description('send a share of new runs to a build before making it current; --percent 0 ends the ramp (approver; audited)')
    .argument('<buildId>', 'the build, as deploy status lists it', checkedBy('<buildId>', rampBody.shape.buildId))
    .requiredOption('--percent <n>', 'the share of new runs, 0-100', checkedBy('--percent', rampBody.shape.percent, decimal))
    .option('--reason <text>', 'why, for the audit trail', checkedBy('--reason', rampBody.shape.reason))
    .action(async (buildId: string, o: { percent: number; reason?: string }) => {
      const c = ctx();
      const { body } = await callApi(c, 'POST', '/v1/deployment/ramp', {
        use: 'required',
        body: JSON.stringify({ buildId, percent: o.percent, ...(o.reason && { reason: o.reason }) }),
      });
      print(c, body, () =>
        [
          o.percent === 0 ? 'the ramp is ended: every new run starts on the current build' : `${o.percent} % of new runs start on ${buildId}`,
          deploymentText((body as Pick<StatusBody, 'deployment'>).deployment),
        ].join('\n'),
      );
    });
}
