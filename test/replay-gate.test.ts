import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { pingWorkflow } from '../src/workflows/index.js';
import { statusQuery } from '../src/workflows/messages.js';
import { describeFailure, firstDivergingEvent, runReplayGate, type GateReport } from '../src/wiring/replay-gate.js';
import { historiesFromDir } from '../src/wiring/replay-histories.js';
import { useEngine } from './helpers/engine.js';
import { startAccepted } from './helpers/inbox.js';
import { run } from './helpers/process.js';
import { seededOenRefund } from './helpers/sandbox.js';

/**
 * The replay gate (src/wiring/replay-gate.ts, `npm run replay:gate`; docs/engine.md, "Changing
 * workflow code"): the histories of the previous release, recorded by `npm run histories:release`,
 * replay on the code of this commit; a workflow change that does not replay fails the gate, which
 * names the run and the event it diverged at; and the gate reads a real Temporal's open and recently
 * closed runs through the engine's own connection settings.
 */

const { EventType } = temporal.api.enums.v1;
const releasesDir = fileURLToPath(new URL('histories/releases/', import.meta.url));
const releases = readdirSync(releasesDir).sort();
const WORKFLOW_TYPES = ['cancelSubscriptionWorkflow', 'pingWorkflow', 'reconcileWorkflow', 'refundOrderWorkflow', 'refundWorkflow', 'resolveWorkflow'];

/** The gate script as `npm run replay:gate` runs it; its exit code and everything it printed. */
async function gate(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; output: string }> {
  const child = run(process.execPath, ['--import', 'tsx', 'scripts/replay-gate.ts', ...args], { ...process.env, ...env });
  const code = await child.exited;
  return { code, output: child.output() };
}

const ordinary = () => ({ codePath: inject('workflowBundlePath') });

/** The workflows with a refund run that starts a timer beside its opening step (test/fixtures/replay-gate/workflows.ts). */
let incompatible: { codePath: string };
const scratch = mkdtempSync(join(tmpdir(), 'refundflow-replay-gate-'));
beforeAll(async () => {
  // Bundled in a child process at the lowest CPU priority: webpack's half a minute of CPU beside a
  // load-bound file (bulk's 500 refunds through one in-process worker) starved it into timeouts.
  const codePath = join(scratch, 'incompatible-workflows.js');
  const script = [
    "import { writeFileSync } from 'node:fs';",
    "import { bundleWorkflowCode } from '@temporalio/worker';",
    'const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: (m) => console.error(m), log() {} };',
    `const { code } = await bundleWorkflowCode({ workflowsPath: ${JSON.stringify(fileURLToPath(new URL('fixtures/replay-gate/workflows.ts', import.meta.url)))}, logger: quiet });`,
    `writeFileSync(${JSON.stringify(codePath)}, code);`,
  ].join('\n');
  const bundler = run('nice', ['-n', '19', process.execPath, '--input-type=module', '-e', script], process.env);
  const code = await bundler.exited;
  if (code !== 0) throw new Error(`bundling the fixture failed (${code}):\n${bundler.output()}`);
  incompatible = { codePath };
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The type of event `id` in the recorded history `file` (a path under releasesDir). */
function recordedEventType(file: string, id: number): string {
  const history = historyFromJSON(JSON.parse(readFileSync(join(releasesDir, file), 'utf8')));
  const event = history.events?.find((e) => String(e.eventId) === String(id));
  return EventType[event?.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED];
}

describe('the histories of the previous release (test/histories/releases)', () => {
  it('are there, recorded by npm run histories:release into <version>+<commit>', () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) expect(release).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
  });

  it.each(releases)('%s: every history replays on the code of this commit, with every workflow type among them', async (release) => {
    const report = await runReplayGate({ histories: historiesFromDir(join(releasesDir, release)), workflowBundle: ordinary() });
    expect(report.failures.map(describeFailure)).toEqual([]);
    expect(Object.keys(report.byType).sort()).toEqual(WORKFLOW_TYPES);
    expect(report.histories).toBe(readdirSync(join(releasesDir, release)).filter((file) => file.endsWith('.json')).length);
  });
});

describe('a workflow change that does not replay', () => {
  let report: GateReport;
  beforeAll(async () => {
    report = await runReplayGate({ histories: historiesFromDir(releasesDir), workflowBundle: incompatible });
  });

  it("fails every refund history, naming the run and the event it diverged at, that event being the history's own", () => {
    const refunds = report.byType.refundWorkflow;
    expect(refunds?.histories).toBeGreaterThan(0);
    expect(refunds?.failed).toBe(refunds?.histories);
    expect(report.failures).toHaveLength(refunds?.histories ?? -1);
    for (const failure of report.failures) {
      expect(failure).toMatchObject({
        workflowType: 'refundWorkflow',
        kind: 'nondeterminism',
        message: expect.stringContaining('Nondeterminism error') as unknown,
      });
      expect(failure.workflowId).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}\/refundWorkflow\..+\.json$/);
      expect(failure.runId).toMatch(/^[0-9a-f-]{36}$/);
      // The core found the reminder's timer where the history has the run's next event: the gate
      // gives that event's id and type, and the history agrees with both.
      const event = failure.event ?? { id: 0, type: '' };
      expect(`EVENT_TYPE_${event.type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`).toBe(recordedEventType(failure.workflowId, event.id));
      expect(describeFailure(failure)).toContain(
        `FAILED refundWorkflow ${failure.workflowId} (run ${failure.runId}): nondeterminism at event ${event.id} (${event.type}): `,
      );
    }
  });

  it('finds the same event by replaying the history a workflow task at a time, for a change whose error names none', async () => {
    // The search the gate makes when the SDK's message names no event: checked here against the ones it does name.
    for (const failure of report.failures.slice(0, 3)) {
      const history = historyFromJSON(JSON.parse(readFileSync(join(releasesDir, failure.workflowId), 'utf8')));
      expect(await firstDivergingEvent({ workflowBundle: incompatible }, history, failure.workflowId), failure.workflowId).toEqual(failure.event);
    }
    // A history the code replays has no diverging event.
    const [first] = report.failures;
    const history = historyFromJSON(JSON.parse(readFileSync(join(releasesDir, first?.workflowId ?? ''), 'utf8')));
    expect(await firstDivergingEvent({ workflowBundle: ordinary() }, history, 'replays')).toBeUndefined();
  });

  it('passes the histories of the workflows it left alone', () => {
    for (const type of WORKFLOW_TYPES.filter((t) => t !== 'refundWorkflow')) expect(report.byType[type]).toMatchObject({ failed: 0 });
  });

  it('makes npm run replay:gate -- --dir exit 1, with each failure and the summary printed', async () => {
    const release = releases.at(-1) ?? '';
    const { code, output } = await gate(['--dir', join(releasesDir, release), '--bundle', incompatible.codePath, '--every', '10']);
    expect(code).toBe(1);
    expect(output).toMatch(/^FAILED refundWorkflow refundWorkflow\.\S+\.json \(run [0-9a-f-]{36}\): nondeterminism at event \d+ \(\w+\): \[TMPRL1100\]/m);
    expect(output).toMatch(/^… 10 histories, \d+ failed so far$/m);
    expect(output).toMatch(/^ {2}refundWorkflow +\d+ histories +\d+ failed$/m);
    expect(output).toMatch(/^Replay gate FAILED: \d+ of \d+ histories do not replay on this workflow bundle$/m);
    // The same folder on the code of this commit: exit 0.
    const shipped = await gate(['--dir', join(releasesDir, release), '--bundle', ordinary().codePath]);
    expect(shipped.output).toMatch(/^Replay gate passed: all \d+ histories replay on this workflow bundle$/m);
    expect(shipped.code).toBe(0);
  });
});

describe('a history the gate cannot read', () => {
  it('fails the gate, named, rather than being skipped', async () => {
    const dir = mkdtempSync(join(scratch, 'broken-'));
    const [release] = releases;
    const ping = readdirSync(join(releasesDir, release ?? '')).find((file) => file.startsWith('pingWorkflow.')) ?? '';
    writeFileSync(join(dir, ping), readFileSync(join(releasesDir, release ?? '', ping)));
    writeFileSync(join(dir, 'refundWorkflow.cut-short.json'), '{"events": [{"eventId": "1", "eventTy');
    const report = await runReplayGate({ histories: historiesFromDir(dir), workflowBundle: ordinary() });
    expect(report.histories).toBe(2);
    expect(report.failures).toEqual([
      expect.objectContaining({ workflowId: 'refundWorkflow.cut-short.json', kind: 'fetch', message: expect.stringMatching(/^not a history: /) as unknown }),
    ]);
  });
});

describe('the gate on a Temporal (the suite dev server)', () => {
  const engine = useEngine('replay-gate');
  let pingRun: { workflowId: string; closeTime: Date };
  let refundRun: { workflowId: string; runId: string };
  let env: Record<string, string>;
  let onThisQueue: string;

  // A run that closed (a ping) and one still open (a refund waiting for its approver), on this file's
  // queue. (vi.waitFor: expect.poll is for tests, not their hooks.)
  beforeAll(async () => {
    const t = engine().temporal;
    env = { TEMPORAL_ADDRESS: t.address, TEMPORAL_NAMESPACE: t.config.TEMPORAL_NAMESPACE };
    onThisQueue = `TaskQueue = '${t.taskQueue}'`;
    const worker = await engine().worker({ APPROVAL_THRESHOLD: '1', ALLOW_UNSIGNED_DECISIONS: 'true' });
    await worker.runUntil(async () => {
      const ping = await t.client.workflow.start(pingWorkflow, { taskQueue: t.taskQueue, workflowId: `replay-gate-ping-${t.taskQueue}`, args: [{}] });
      await ping.result();
      const started = await startAccepted(t.client, t.taskQueue, engine().db, await seededOenRefund(engine().sandboxes.oenUrl));
      if (started.kind !== 'started') throw new Error(`refund not started: ${JSON.stringify(started)}`);
      const refund = t.client.workflow.getHandle(started.workflowId);
      await vi.waitFor(async () => expect((await refund.query(statusQuery)).status).toBe('awaiting_approval'), { timeout: 30_000, interval: 50 });
      pingRun = { workflowId: ping.workflowId, closeTime: (await ping.describe()).closeTime ?? new Date(0) };
      refundRun = { workflowId: refund.workflowId, runId: (await refund.describe()).runId };
    });
    // Visibility is written after the run's own history: the gate lists what it shows.
    await vi.waitFor(async () => expect((await t.client.workflow.count(onThisQueue)).count).toBe(2), { timeout: 30_000, interval: 50 });
  });
  afterAll(async () => {
    if (refundRun) await engine().temporal.client.workflow.getHandle(refundRun.workflowId).terminate('replay gate test over');
  });

  it('replays the open and the recently closed run, reached through TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE as every process is', async () => {
    const { code, output } = await gate(['--query', onThisQueue, '--bundle', ordinary().codePath], env);
    expect(output).toContain(`on ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}; plain)`);
    expect(output).toMatch(/^ {2}pingWorkflow +1 history +0 failed$/m);
    expect(output).toMatch(/^ {2}refundWorkflow +1 history +0 failed$/m);
    expect(output).toMatch(/^Replay gate passed: all 2 histories replay on this workflow bundle$/m);
    expect(code).toBe(0);
  });

  it('leaves out a run closed before --since, and keeps the open one however long it has run', async () => {
    // --since 1s asks for runs closed in the second before the gate starts: the ping's close must be older.
    await expect.poll(() => Date.now() - pingRun.closeTime.getTime(), { timeout: 10_000, interval: 100 }).toBeGreaterThan(1_000);
    const { code, output } = await gate(['--since', '1s', '--query', onThisQueue, '--bundle', ordinary().codePath], env);
    expect(output).not.toMatch(/pingWorkflow/);
    expect(output).toMatch(/^ {2}refundWorkflow +1 history +0 failed$/m);
    expect(output).toMatch(/^Replay gate passed: the one history replays on this workflow bundle$/m);
    expect(code).toBe(0);
  });

  it('fails on the incompatible change with the open refund run named: workflow id, run id, type, the event it diverged at', async () => {
    const { code, output } = await gate(['--query', onThisQueue, '--bundle', incompatible.codePath], env);
    expect(output).toMatch(
      new RegExp(`^FAILED refundWorkflow ${refundRun.workflowId} \\(run ${refundRun.runId}\\): nondeterminism at event \\d+ \\(\\w+\\): \\[TMPRL1100\\]`, 'm'),
    );
    expect(output).toMatch(/^Replay gate FAILED: 1 of 2 histories does not replay on this workflow bundle$/m);
    expect(code).toBe(1);
  });

  it('refuses a bad --since before it connects (exit 2)', async () => {
    const { code, output } = await gate(['--since', '7'], env);
    expect(output).toContain('--since must be a whole number and a unit');
    expect(code).toBe(2);
  });
});
