import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { describe, expect, inject, it } from 'vitest';
import { Signer } from '../src/webhooks/signing.js';
import { pingWorkflow } from '../src/workflows/index.js';
import { freePorts } from './helpers/ports.js';
import { processesMentioning, run, type RunningProcess } from './helpers/process.js';

const { TaskQueueType, WorkflowExecutionStatus } = temporal.api.enums.v1;

/** `npm start` exactly as a newcomer runs it, in its own process group, on ports of its own. */
function npmStart(env: NodeJS.ProcessEnv): RunningProcess {
  const inherited = { ...process.env };
  delete inherited.TEMPORAL_ADDRESS;
  return run('npm', ['start'], { ...inherited, ...env });
}

/**
 * Ctrl-C as a terminal sends it, to the whole group. npm itself then ends by re-raising SIGINT once
 * its script has exited, so a clean stop shows in what the engine printed on its way out.
 */
async function stopWithCtrlC(started: RunningProcess, lastLine: string): Promise<void> {
  started.signalGroup('SIGINT');
  expect(await started.exited).toBe('SIGINT');
  expect(started.output()).toMatch(/SIGINT: stopping/);
  expect(started.output()).toContain('Worker stopped.');
  expect(started.output().trimEnd().endsWith(lastLine)).toBe(true);
}

async function pollerCount(client: Client, taskQueue: string): Promise<number> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers?.length ?? 0;
}

describe('npm start', () => {
  it('serves the Web UI, runs a polling worker, refunds the printed demo, keeps state across a restart and stops cleanly on Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-start-'));
    const [port, uiPort, oenPort, mwdPort, apiPort, metricsPort] = await freePorts(6);
    const env = {
      PORT: String(apiPort),
      METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: String(port),
      TEMPORAL_UI_PORT: String(uiPort),
      SANDBOX_OEN_PORT: String(oenPort),
      SANDBOX_MWD_PORT: String(mwdPort),
    };
    const workflowId = `start-test-${randomUUID()}`;

    const first = npmStart(env);
    await first.waitForOutput(/Press Ctrl-C to stop/, 120_000);
    /** One line of the banner: its label, padding, then the value. */
    const bannerLine = (label: string, value: string) => new RegExp(`^ {2}${label} +${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm');
    expect(first.output()).toMatch(
      bannerLine(
        'Temporal Web UI',
        `http://localhost:${uiPort} (the dev server's UI: cancel, signal, update, terminate, reset and start are on here, and off in production's)`,
      ),
    );
    expect(first.output()).toContain('polling task queue "refunds"');
    expect(first.output()).toMatch(
      bannerLine('Reconciliation', 'every 15 min (Temporal Schedule "refundflow-reconcile", created); refunds Oen shows still charged are left for a person'),
    );
    expect((await fetch(`http://localhost:${uiPort}`)).status).toBe(200);
    expect(first.output()).toMatch(bannerLine('Oen', `http://127.0.0.1:${oenPort} (sandbox emulator)`));
    expect(first.output()).toMatch(bannerLine('MWD', `http://127.0.0.1:${mwdPort} (sandbox emulator)`));
    expect(first.output()).toMatch(bannerLine('Metrics', `http://127.0.0.1:${metricsPort}/metrics`));
    expect(first.output()).toMatch(bannerLine('Logs', `${dataDir}/refundflow.log (JSON lines`));
    expect(first.output()).toMatch(bannerLine('Payload encryption', 'off: payloads are stored as plain JSON. Set PAYLOAD_ENCRYPTION_KEYS'));
    const seeded = await fetch(`http://127.0.0.1:${oenPort}/order/ORDER00001/transactions`, {
      headers: { Authorization: 'Bearer sandbox' },
    });
    expect(await seeded.json()).toMatchObject({ code: 'S0000', data: { transactions: [{ id: 'P20240412CIK7KPPH' }] } });

    // The API, with the development secret it printed: a signed event is accepted and its refund succeeds.
    expect(first.output()).toMatch(bannerLine('API', `http://localhost:${apiPort}`));
    const secret = /Webhook secret +(whsec_\S+) \(generated for development/.exec(first.output())?.[1];
    expect(secret).toBeDefined();
    const event = {
      specversion: '1.0',
      id: `evt_${randomUUID()}`,
      source: 'start-test',
      type: 'refund.requested',
      data: {
        refundId: `RF-${randomUUID()}`,
        provider: 'mwd',
        orderId: '202008170002',
        amount: 55,
        cardToken: '45dec174-3f16-471b-8cd2-d79ee9cf9ac2_0176352482860745',
      },
    };
    const body = JSON.stringify(event);
    const accepted = await fetch(`http://localhost:${apiPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...new Signer(secret ?? '').sign(event.id, body) },
      body,
    });
    expect(accepted.status).toBe(202);
    // Reads need a credential: the developer's key the banner printed (an approver), which the
    // development mode also keeps for the CLI; the Web UI's decisions are taken unverified, as it says.
    const key = /Operator key +(rf_\S+) \(the developer, an approver; made now, kept in /.exec(first.output())?.[1];
    expect(key).toBeDefined();
    expect(first.output()).toMatch(
      bannerLine('Decisions', 'signed by the API; approve/reject/cancel sent from the Web UI or temporal CLI are also taken, recorded as unverified'),
    );
    const read = (path: string, credential = key) =>
      fetch(`http://localhost:${apiPort}${path}`, { headers: credential ? { authorization: `Bearer ${credential}` } : {} });
    expect((await read(`/v1/refunds/${event.data.refundId}`, '')).status).toBe(401);
    await expect
      .poll(async () => ((await (await read(`/v1/refunds/${event.data.refundId}`)).json()) as { status: string }).status, { timeout: 30_000 })
      .toBe('succeeded');

    const connection = await Connection.connect({ address: `localhost:${port}` });
    const client = new Client({ connection });
    try {
      expect(await pollerCount(client, 'refunds')).toBeGreaterThan(0);
      const result = await client.workflow.execute(pingWorkflow, {
        taskQueue: 'refunds',
        workflowId,
        args: [{ message: 'from the test' }],
      });
      expect(result.message).toBe('from the test');
    } finally {
      await connection.close();
    }

    // The banner's demos, one per emulator, pasted as printed: the CLI sends the signed event,
    // waits, shows the refund succeed at the Oen emulator and at the MWD one; its status command
    // shows it too; the Web UI's own API finds it under RefundStatus="succeeded".
    const demos = [...first.output().matchAll(/^ {2}((?:DATA_DIR=\S+ )?npx refundflow .* refund --provider (oen|mwd) .* --wait)$/gm)];
    expect(demos.map((m) => m[2])).toEqual(['oen', 'mwd']);
    for (const [, demo, provider] of demos) {
      const pasted = execFileSync('sh', ['-c', demo ?? 'false'], { encoding: 'utf8' });
      expect(pasted, provider).toMatch(/^accepted: refund RF-DEMO-/m);
      expect(pasted, provider).toMatch(new RegExp(`^RF-DEMO-\\S+ {2}succeeded\n {2}provider {3}${provider}`, 'm'));
    }
    const status = /^ {2}((?:DATA_DIR=\S+ )?npx refundflow .* status RF-DEMO-\S+)$/m.exec(first.output())?.[1];
    const shown = execFileSync('sh', ['-c', status ?? 'false'], { encoding: 'utf8' });
    expect(shown).toMatch(/^RF-DEMO-\S+ {2}succeeded\n {2}provider {3}oen \(transaction P\w+\)/m);
    const demoWorkflowId = /Web UI {5}http:\S+\/workflows\/(\S+)/.exec(shown)?.[1];
    expect(demoWorkflowId).toMatch(/^oen-refund-P/);
    const query = encodeURIComponent('RefundStatus="succeeded"');
    await expect
      .poll(
        async () => {
          const listed = await fetch(`http://localhost:${uiPort}/api/v1/namespaces/default/workflows?query=${query}`);
          const { executions } = (await listed.json()) as { executions?: Array<{ execution: { workflowId: string } }> };
          return executions?.map((e) => e.execution.workflowId);
        },
        { timeout: 10_000 },
      )
      .toContain(demoWorkflowId);

    // The worker's /metrics counts the refunds, and the API logged its requests to the printed file.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^refundflow_refunds_total\{provider="oen",status="succeeded"\} 1$/m);
    expect(metrics).toMatch(/^refundflow_refunds_total\{provider="mwd",status="succeeded"\} 2$/m);
    const logLines = readFileSync(join(dataDir, 'refundflow.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logLines.some((l) => l.name === 'api' && l.msg === 'request completed')).toBe(true);
    expect(readFileSync(join(dataDir, 'refundflow.log'), 'utf8')).not.toContain(String(secret));
    expect(readFileSync(join(dataDir, 'refundflow.log'), 'utf8')).not.toContain(String(key).slice(16));

    await stopWithCtrlC(first, 'Temporal dev server stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);

    const second = npmStart(env);
    await second.waitForOutput(/Press Ctrl-C to stop/, 120_000);
    // The schedule was kept with the server's state: this start updates it in place; the developer's key too.
    expect(second.output()).toMatch(bannerLine('Reconciliation', 'every 15 min (Temporal Schedule "refundflow-reconcile", updated)'));
    expect(second.output()).toMatch(bannerLine('Operator key', `${key} (the developer, an approver; made earlier`));
    const again = await Connection.connect({ address: `localhost:${port}` });
    try {
      const { status } = await new Client({ connection: again }).workflow.getHandle(workflowId).describe();
      expect(status.code).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
      const schedule = await new Client({ connection: again }).schedule.getHandle('refundflow-reconcile').describe();
      expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileWorkflow', taskQueue: 'refunds' });
      expect(schedule.spec.intervals?.map((i) => i.every)).toEqual([900_000]);
    } finally {
      await again.close();
    }
    await stopWithCtrlC(second, 'Temporal dev server stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 330_000);

  it('with TEMPORAL_ADDRESS set, starts no server and runs the worker against the one given', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-start-'));
    const taskQueue = `start-remote-${randomUUID()}`;
    const address = inject('temporalAddress');
    const [oenPort, mwdPort, apiPort] = await freePorts(3);
    const started = npmStart({
      PORT: String(apiPort),
      METRICS_ADDRESS: 'off',
      TEMPORAL_ADDRESS: address,
      REFUNDS_TASK_QUEUE: taskQueue,
      DATA_DIR: dataDir,
      SANDBOX_OEN_PORT: String(oenPort),
      SANDBOX_MWD_PORT: String(mwdPort),
    });
    await started.waitForOutput(/Press Ctrl-C to stop/, 120_000);
    expect(started.output()).toContain(`Using the Temporal server at ${address} (TEMPORAL_ADDRESS); no dev server started.`);
    expect(started.output()).not.toContain('Starting the Temporal dev server');

    const connection = await Connection.connect({ address });
    try {
      expect(await pollerCount(new Client({ connection }), taskQueue)).toBeGreaterThan(0);
    } finally {
      await connection.close();
    }
    await stopWithCtrlC(started, 'Worker stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 180_000);

  it('with PAYLOAD_ENCRYPTION_KEYS, runs the codec server and points the Web UI at it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-start-'));
    const [port, uiPort, oenPort, mwdPort, apiPort, codecPort] = await freePorts(6);
    const key = `start-test:${randomBytes(32).toString('base64')}`;
    const started = npmStart({
      PORT: String(apiPort),
      METRICS_ADDRESS: 'off',
      DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: String(port),
      TEMPORAL_UI_PORT: String(uiPort),
      SANDBOX_OEN_PORT: String(oenPort),
      SANDBOX_MWD_PORT: String(mwdPort),
      CODEC_SERVER_PORT: String(codecPort),
      PAYLOAD_ENCRYPTION_KEYS: key,
    });
    await started.waitForOutput(/Press Ctrl-C to stop/, 120_000);
    const output = started.output();
    expect(output).toMatch(/^ {2}Payload encryption +on: AES-256-GCM under key "start-test"/m);
    expect(output).toMatch(new RegExp(`^ {2}Codec server +http://localhost:${codecPort} `, 'm'));
    expect(output).not.toContain(key.split(':')[1]);
    const token = /^ {2}Codec token +(\S+) \(generated for development/m.exec(output)?.[1] ?? '';
    expect(token.length).toBeGreaterThanOrEqual(16);

    // The dev server's UI was started with the codec endpoint (its settings API says so) …
    const settings = (await (await fetch(`http://localhost:${uiPort}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    expect(settings.Codec?.Endpoint).toBe(`http://localhost:${codecPort}`);
    // … and the codec server answers the UI's origin with the printed token, no one without it.
    const decode = (headers: Record<string, string>) =>
      fetch(`http://localhost:${codecPort}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: `http://localhost:${uiPort}`, ...headers },
        body: JSON.stringify({ payloads: [] }),
      });
    expect((await decode({})).status).toBe(401);
    expect((await decode({ Authorization: `Bearer ${token}` })).status).toBe(200);

    await stopWithCtrlC(started, 'Temporal dev server stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 180_000);
});
