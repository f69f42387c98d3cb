import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newSigningKey, verifyKeyOf } from '../../src/domain/decision-proof.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret, oenRefundEvent } from '../helpers/api.js';
import { clusterEnv } from '../helpers/cluster.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { sandboxProviderEnv } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { targetConnectionOptions } from '../helpers/temporal.js';

/**
 * A release on the production-shaped cluster (docs/operations.md, "Releasing a new version"), with
 * the processes an operator runs: the API, the workers of build A from this checkout, the workers of
 * build B from a copy of it whose refundWorkflow does not replay A's histories, and then of build C,
 * this checkout's code again (which does not replay B's). A refund
 * that waits for its approver under A is finished by A after B is made current; new refunds run on
 * B; `deploy status` shows A draining, then drained, and A's workers stop. Then the same with a
 * 50 % ramp to C.
 */
const info = inject('cluster');
const postgres = await postgresAvailable();
const root = process.cwd();

/**
 * A copy of this checkout whose refundWorkflow starts a timer beside its opening step: a command no
 * history of the shipped code holds, so none of its refund histories replays on it.
 */
function incompatibleCheckout(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `refundflow-build-${label}-`));
  for (const path of ['src', 'scripts', 'bin', 'package.json', 'package-lock.json', 'tsconfig.json'])
    cpSync(join(root, path), join(dir, path), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, 'src', 'workflows', 'refund.ts');
  const code = readFileSync(file, 'utf8');
  const opening = 'export async function refundWorkflow(input: RefundRequested): Promise<RefundRecord> {\n';
  if (!code.includes(opening))
    throw new Error(`src/workflows/refund.ts no longer opens refundWorkflow with ${JSON.stringify(opening)}: change this test's copy`);
  writeFileSync(
    file,
    `import { sleep as releaseTestSleep } from '@temporalio/workflow';\n${code.replace(opening, `${opening}  void releaseTestSleep('1 day'); // build ${label}\n`)}`,
  );
  return dir;
}

describe.skipIf(!postgres)('a release on the cluster: pinned refund runs, a replay gate, promote, ramp, drain', () => {
  const ledger = usePostgresLedger(postgres);
  const deploymentName = `release-${randomUUID().slice(0, 8)}`;
  const build = { A: `0.0.1-a${randomUUID().slice(0, 6)}`, B: `0.0.2-b${randomUUID().slice(0, 6)}`, C: `0.0.3-c${randomUUID().slice(0, 6)}` };
  const ingestSecret = newWebhookSecret();
  let sandboxes: RunningSandboxes;
  let env: NodeJS.ProcessEnv;
  let api: RunningProcess;
  let apiUrl: string;
  let approverKey: string;
  const approverName = `release-approver-${randomUUID().slice(0, 6)}`;
  const workers: Partial<Record<keyof typeof build, RunningProcess>> = {};
  let connection: Connection;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
    const [port] = (await freePorts(1)) as [number];
    apiUrl = `http://127.0.0.1:${port}`;
    const signingKey = newSigningKey();
    env = {
      ...process.env,
      ...clusterEnv(info),
      DATABASE_URL: ledger().url,
      REFUNDS_TASK_QUEUE: `release-${randomUUID()}`,
      WORKER_VERSIONING: 'on',
      WORKER_DEPLOYMENT_NAME: deploymentName,
      METRICS_ADDRESS: 'off',
      ...sandboxProviderEnv(sandboxes),
      APPROVAL_THRESHOLD: '50000',
      OPERATOR_VERIFY_KEYS: verifyKeyOf(signingKey),
      OPERATOR_SIGNING_KEY: signingKey,
      INGEST_WEBHOOK_SECRET: ingestSecret,
      PORT: String(port),
    };
    approverKey = (await new ApiKeys(ledger().db).add(approverName, 'approver', 'test', { person: 'release-manager' })).key;
    api = run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], env);
    await api.waitForOutput(/API listening/, 60_000);
    connection = await Connection.connect(targetConnectionOptions('cluster'));
  }, 120_000);

  afterAll(async () => {
    for (const p of [api, ...Object.values(workers)]) p?.signalGroup('SIGTERM');
    await Promise.all([api?.exited, ...Object.values(workers).map((p) => p?.exited)]);
    await connection?.close();
    await sandboxes?.close();
  });

  const startWorker = (label: keyof typeof build, cwd = root) => {
    workers[label] = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], { ...env, WORKER_BUILD_ID: build[label] }, cwd);
    return workers[label];
  };
  const cli = (args: string[]) => run(process.execPath, ['bin/refundflow.mjs', '--api', apiUrl, '--json', ...args], { ...env, REFUNDFLOW_TOKEN: approverKey });
  const cliJson = async (args: string[]) => {
    const p = cli(args);
    const code = await p.exited;
    expect(code, p.output()).toBe(0);
    return JSON.parse(p.output()) as Record<string, unknown>;
  };
  type Status = {
    deployment: {
      current?: string;
      ramping?: { buildId: string; percent: number };
      versions: Array<{ buildId: string; state: string; openPinnedRuns: number }>;
    };
  };
  const status = async () => (await cliJson(['deploy', 'status'])) as unknown as Status;
  const version = async (label: keyof typeof build) => (await status()).deployment.versions.find((v) => v.buildId === build[label]);

  /** Sends a refund event for a fresh Oen payment; returns its refund id and run's workflow id. */
  const refund = async (amount: number) => {
    const event = await oenRefundEvent({ sandboxes }, { amount, reason: 'release test' });
    const body = JSON.stringify(event);
    const answer = await fetch(`${apiUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...new Signer(ingestSecret).sign(event.id, body) },
      body,
    });
    expect(answer.status).toBe(202);
    return { refundId: event.data.refundId, workflowId: `oen-refund-${event.data.transactionHid}` };
  };
  const statusOf = async (refundId: string) =>
    (await ledger().db.query<{ status: string }>('SELECT status FROM refunds WHERE refund_id = $1', [refundId])).rows[0]?.status;
  /** The build that completed the run's last workflow task, and its versioning behavior. */
  const ranOn = async (workflowId: string) => {
    const { workflowExecutionInfo } = await connection.workflowService.describeWorkflowExecution({ namespace: info.namespace, execution: { workflowId } });
    const v = workflowExecutionInfo?.versioningInfo;
    return { buildId: v?.deploymentVersion?.buildId, pinned: v?.behavior === temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED };
  };

  it('A waits with a refund for its approver; B, which does not replay it, becomes current; the approval is finished by A; new refunds run on B; A drains and stops', async () => {
    // Build A, the deployment's first: its worker makes it current.
    startWorker('A');
    await workers.A?.waitForOutput(new RegExp(`Build ${build.A} is the first build of deployment ${deploymentName}: made current`), 120_000);
    const waiting = await refund(60_000);
    await expect.poll(() => statusOf(waiting.refundId), { timeout: 60_000, interval: 500 }).toBe('awaiting_approval');
    expect(await ranOn(waiting.workflowId)).toEqual({ buildId: build.A, pinned: true });

    // Build B polls, and waits: A is current.
    const checkoutB = incompatibleCheckout('B');
    startWorker('B', checkoutB);
    await workers.B?.waitForOutput(new RegExp(`Build ${build.B} is polling; build ${build.A} is current`), 180_000);
    expect(await version('B')).toMatchObject({ state: 'inactive', openPinnedRuns: 0 });

    // The replay gate, run from B's checkout against the cluster, says B would break A's waiting run.
    const gate = run(process.execPath, ['--import', 'tsx', 'scripts/replay-gate.ts', '--query', `WorkflowId = '${waiting.workflowId}'`], env, checkoutB);
    expect(await gate.exited).toBe(1);
    expect(gate.output()).toMatch(
      new RegExp(
        `^FAILED refundWorkflow ${waiting.workflowId} \\(run [0-9a-f-]+; pinned to build ${build.A}\\): nondeterminism at event \\d+ \\(MarkerRecorded\\)`,
        'm',
      ),
    );

    // With the workers under Worker Versioning the run stays on A: --pinned-stay lists it, and passes.
    const pinnedGate = run(
      process.execPath,
      ['--import', 'tsx', 'scripts/replay-gate.ts', '--pinned-stay', '--query', `WorkflowId = '${waiting.workflowId}'`],
      { ...env, WORKER_BUILD_ID: build.B },
      checkoutB,
    );
    expect(await pinnedGate.exited, pinnedGate.output()).toBe(0);
    expect(pinnedGate.output()).toMatch(
      new RegExp(
        `^PINNED refundWorkflow ${waiting.workflowId} \\(run [0-9a-f-]+; pinned to build ${build.A}\\): nondeterminism.* keep that build's workers until it is drained$`,
        'm',
      ),
    );

    // An approver makes B current (audited); A keeps its pinned run.
    const promoted = await cliJson(['deploy', 'promote', build.B, '--reason', 'release B']);
    expect(promoted).toMatchObject({ current: build.B, previous: build.A });
    const afterPromote = await status();
    // Temporal records who moved it: the person, through refundflow.
    expect((afterPromote.deployment as { lastModifiedBy?: string }).lastModifiedBy).toBe(`refundflow API, release-manager (key:${approverName})`);
    expect(afterPromote.deployment.current).toBe(build.B);
    expect(afterPromote.deployment.versions.find((v) => v.buildId === build.A)).toMatchObject({ openPinnedRuns: 1 });
    expect(['draining', 'inactive']).toContain(afterPromote.deployment.versions.find((v) => v.buildId === build.A)?.state);
    const trail = await new AuditTrail(ledger().db).list({ actor: undefined, limit: 200 });
    expect(trail.entries.filter((e) => e.action === 'deploy.promote').map((e) => [e.outcome, e.actor.name, e.reason, e.detail?.buildId])).toEqual([
      ['attempted', approverName, 'release B', build.B],
      ['done', approverName, 'release B', build.B],
    ]);

    // The approval arrives: A's worker finishes the run it started.
    const approved = await fetch(`${apiUrl}/v1/refunds/${waiting.refundId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approverKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'approved during the release' }),
    });
    expect(approved.status, await approved.clone().text()).toBe(200);
    await expect.poll(() => statusOf(waiting.refundId), { timeout: 60_000, interval: 500 }).toBe('succeeded');
    expect(await ranOn(waiting.workflowId)).toEqual({ buildId: build.A, pinned: true });

    // A new refund runs on B (and B's timer is there: its history is B's code).
    const next = await refund(1_000);
    await expect.poll(() => statusOf(next.refundId), { timeout: 60_000, interval: 500 }).toBe('succeeded');
    expect(await ranOn(next.workflowId)).toEqual({ buildId: build.B, pinned: true });

    // A drains: no pinned run left, and Temporal says drained; then its workers stop.
    await expect.poll(async () => (await version('A'))?.openPinnedRuns, { timeout: 30_000, interval: 1_000 }).toBe(0);
    await expect.poll(async () => (await version('A'))?.state, { timeout: 120_000, interval: 2_000 }).toBe('drained');
    workers.A?.signalGroup('SIGTERM');
    expect(await workers.A?.exited).toBe(0);
  }, 600_000);

  it('C is ramped to 50 %: new refunds run on B or C; a run B started stays on B after C is made current; B drains', async () => {
    const waiting = await refund(60_000);
    await expect.poll(() => statusOf(waiting.refundId), { timeout: 60_000, interval: 500 }).toBe('awaiting_approval');
    expect(await ranOn(waiting.workflowId)).toEqual({ buildId: build.B, pinned: true });

    // C is this checkout's code again under a build id of its own (a release that undoes B's change):
    // B's runs, with their timer, do not replay on it, and its bundle is built already.
    startWorker('C');
    await workers.C?.waitForOutput(new RegExp(`Build ${build.C} is polling; build ${build.B} is current`), 180_000);
    const ramped = await cliJson(['deploy', 'ramp', build.C, '--percent', '50', '--reason', 'half of new refunds to C']);
    expect(ramped).toMatchObject({ ramping: { buildId: build.C, percent: 50 } });
    expect((await status()).deployment).toMatchObject({ current: build.B, ramping: { buildId: build.C, percent: 50 } });

    // 16 refunds: each starts on B or C, by its workflow id; both get some (all on one: 2 in 2^16).
    const sent = await Promise.all(Array.from({ length: 16 }, () => refund(1_000)));
    for (const r of sent) await expect.poll(() => statusOf(r.refundId), { timeout: 60_000, interval: 500 }).toBe('succeeded');
    const builds = await Promise.all(sent.map(async (r) => (await ranOn(r.workflowId)).buildId));
    expect(new Set(builds)).toEqual(new Set([build.B, build.C]));

    await cliJson(['deploy', 'promote', build.C, '--reason', 'C after its ramp']);
    expect((await status()).deployment.ramping).toBeUndefined();
    const approved = await fetch(`${apiUrl}/v1/refunds/${waiting.refundId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approverKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'approved after C' }),
    });
    expect(approved.status).toBe(200);
    await expect.poll(() => statusOf(waiting.refundId), { timeout: 60_000, interval: 500 }).toBe('succeeded');
    expect(await ranOn(waiting.workflowId)).toEqual({ buildId: build.B, pinned: true });
    await expect.poll(async () => (await version('B'))?.state, { timeout: 120_000, interval: 2_000 }).toBe('drained');
    workers.B?.signalGroup('SIGTERM');
    expect(await workers.B?.exited).toBe(0);
  }, 600_000);
});
