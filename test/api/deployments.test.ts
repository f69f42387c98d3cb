import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { currentRelease } from '../../src/release.js';
import { firstBuildCurrent } from '../../src/wiring/deployments.js';
import { createWorker } from '../../src/wiring/worker.js';
import { pingWorkflow } from '../../src/workflows/index.js';
import { useApi } from '../helpers/api.js';
import { TEST_PLAIN_HTTP, useEngine } from '../helpers/engine.js';

/**
 * GET /v1/deployment and its two moves (docs/api.md, "GET /v1/deployment, POST …/promote, POST
 * …/ramp") on the dev server, with versioned workers of two builds in a deployment of this file's
 * own: the first build made current by its worker, the second ramped, then made current by an
 * approver; each move audited, and refused for a viewer, a malformed body or a build Temporal does
 * not know. The whole release with the worker processes: test/cluster/releases.test.ts.
 */
const engine = useEngine('deployments');
const deploymentName = `api-deploy-${randomUUID().slice(0, 8)}`;
const api = useApi(engine, { deploymentName });
const taskQueue = `deploy-${randomUUID()}`;
const workers: Array<{ worker: Worker; running: Promise<void> }> = [];

afterAll(async () => {
  for (const { worker } of workers) worker.shutdown();
  await Promise.all(workers.map(({ running }) => running));
});

/** A versioned worker of `buildId` on this file's versioned queue, and what it did about the deployment's current build. */
async function startBuild(buildId: string) {
  const e = engine();
  const worker = await createWorker({
    config: loadConfig({ TEMPORAL_ADDRESS: e.temporal.address, REFUNDS_TASK_QUEUE: taskQueue, ALLOW_PLAIN_HTTP: TEST_PLAIN_HTTP }),
    connection: e.temporal.connection,
    workflowBundle: e.temporal.workflowBundle,
    deps: { ledger: e.ledger, providers: e.providers },
    deployment: { name: deploymentName, buildId },
  });
  workers.push({ worker, running: worker.run() });
  return firstBuild(buildId);
}

/** What a worker of `buildId` does once it polls (src/wiring/deployments.ts), and what it logs. */
async function firstBuild(buildId: string) {
  const e = engine();
  const lines: string[] = [];
  const log = { info: (line: string) => lines.push(line), error: (line: string) => lines.push(`error: ${line}`) };
  const outcome = await firstBuildCurrent(
    e.temporal.connection.workflowService,
    new AuditTrail(e.db),
    { namespace: 'default', name: deploymentName, buildId },
    log,
  );
  return { outcome, lines };
}

const trail = async (action: string) =>
  (await new AuditTrail(engine().db).list({ limit: 200 })).entries
    .filter((entry) => entry.action === action && entry.detail?.deployment === deploymentName)
    .map((entry) => ({ outcome: entry.outcome, actor: entry.actor.id, reason: entry.reason, detail: entry.detail }));

describe('releases through the API', () => {
  const [first, second] = [`1.0.0-${randomUUID().slice(0, 8)}`, `1.1.0-${randomUUID().slice(0, 8)}`];

  it('says which release the API runs, and that no versioned worker has polled yet', async () => {
    const release = currentRelease();
    expect(await api().request('GET', '/v1/deployment', { token: api().keys.viewer })).toEqual({
      status: 200,
      body: { api: { version: release.version, commit: release.commit, buildId: release.buildId }, deployment: null },
    });
  });

  it("makes the deployment's first build current by its own worker, audited; a second build waits", async () => {
    const a = await startBuild(first);
    expect(a.outcome).toEqual({ kind: 'made-current' });
    expect(a.lines).toEqual([`Build ${first} is the first build of deployment ${deploymentName}: made current`]);
    expect(await trail('deploy.first')).toEqual([
      { outcome: 'done', actor: 'worker', reason: undefined, detail: { deployment: deploymentName, buildId: first } },
    ]);

    const b = await startBuild(second);
    expect(b.outcome).toEqual({ kind: 'other-current', current: first });
    expect(b.lines[0]).toMatch(
      new RegExp(`^Build ${second} is polling; build ${first} is current, and new runs start on it until npx refundflow deploy promote ${second}`),
    );
    // Another worker of the first build (another process) finds it current and changes nothing.
    expect((await firstBuild(first)).outcome).toEqual({ kind: 'already-current' });
    expect(await trail('deploy.first')).toHaveLength(1);

    const { body } = await api().request('GET', '/v1/deployment', { token: api().keys.viewer });
    expect(body.deployment).toMatchObject({
      name: deploymentName,
      current: first,
      changedOutsideRefundflow: false,
      lastModifiedBy: `refundflow worker, build ${first}: the deployment's first build`,
    });
    expect((body.deployment as { versions: Array<{ buildId: string; state: string }> }).versions.map((v) => [v.buildId, v.state])).toEqual([
      [first, 'current'],
      [second, 'inactive'],
    ]);
  });

  it('refuses a viewer, a malformed body and a build Temporal does not know, each audited', async () => {
    expect(await api().request('POST', '/v1/deployment/promote', { body: { buildId: second }, token: api().keys.viewer })).toMatchObject({ status: 403 });
    expect(await api().request('POST', '/v1/deployment/promote', { body: { buildId: 'a b' } })).toMatchObject({
      status: 422,
      body: { error: 'invalid promotion', problems: [{ field: 'buildId', problem: expect.stringMatching(/^must be a build id/) as unknown }] },
    });
    expect(await api().request('POST', '/v1/deployment/ramp', { body: { buildId: second, percent: 150 } })).toMatchObject({
      status: 422,
      body: { problems: [{ field: 'percent', problem: 'must be 0 to 100' }] },
    });
    const unknown = await api().request('POST', '/v1/deployment/promote', { body: { buildId: '9.9.9-never-polled' } });
    expect(unknown.status, JSON.stringify(unknown.body)).toBe(404);
    expect(unknown.body.error).toMatch(/^Temporal has no such build in the deployment: .*deploy status lists the builds/);
    expect(await trail('deploy.promote')).toEqual([
      {
        outcome: 'attempted',
        actor: expect.stringMatching(/^key:approver-/) as unknown,
        reason: undefined,
        detail: { deployment: deploymentName, buildId: '9.9.9-never-polled' },
      },
      {
        outcome: 'refused',
        actor: expect.stringMatching(/^key:approver-/) as unknown,
        reason: unknown.body.error,
        detail: { httpStatus: 404, deployment: deploymentName, buildId: '9.9.9-never-polled' },
      },
    ]);
  });

  it('ramps the second build, ends the ramp, then makes it current: new runs start on it, and the moves are audited with who and why', async () => {
    const ramped = await api().request('POST', '/v1/deployment/ramp', { body: { buildId: second, percent: 50, reason: 'half first' } });
    expect(ramped.status, JSON.stringify(ramped.body)).toBe(200);
    expect(ramped.body).toMatchObject({ ramping: { buildId: second, percent: 50 }, deployment: { current: first, ramping: { buildId: second, percent: 50 } } });
    const ended = await api().request('POST', '/v1/deployment/ramp', { body: { buildId: second, percent: 0 } });
    expect(ended.body.ramping).toBeNull();
    expect((ended.body.deployment as { ramping?: unknown }).ramping).toBeUndefined();

    const promoted = await api().request('POST', '/v1/deployment/promote', { body: { buildId: second, reason: 'release 1.1' } });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(promoted.body).toMatchObject({ current: second, previous: first, deployment: { current: second, changedOutsideRefundflow: false } });
    expect((promoted.body.deployment as { lastModifiedBy: string }).lastModifiedBy).toMatch(/^refundflow API, .+ \(key:approver-[\w-]+\)$/);
    expect((await trail('deploy.promote')).slice(-2)).toEqual([
      expect.objectContaining({ outcome: 'attempted', reason: 'release 1.1', detail: { deployment: deploymentName, buildId: second } }),
      expect.objectContaining({ outcome: 'done', reason: 'release 1.1', detail: { deployment: deploymentName, buildId: second, previous: first } }),
    ]);
    expect((await trail('deploy.ramp')).map((entry) => [entry.outcome, entry.detail?.percent])).toEqual([
      ['attempted', 50],
      ['done', 50],
      ['attempted', 0],
      ['done', 0],
    ]);

    // A run started now is taken by the second build (the ping moves with the current build: AUTO_UPGRADE).
    const client = engine().temporal.client;
    const handle = await client.workflow.start(pingWorkflow, { taskQueue, workflowId: `deploy-ping-${randomUUID()}`, args: [{ message: 'which build' }] });
    expect((await handle.result()).message).toBe('which build');
    const { raw } = await handle.describe();
    expect(raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe(second);
  });
});
