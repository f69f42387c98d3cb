import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { describe, expect, inject, it } from 'vitest';
import { Signer } from '../src/api/signature.js';
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
    expect(first.output()).toContain(`Temporal Web UI  http://localhost:${uiPort}`);
    expect(first.output()).toContain('polling task queue "refunds"');
    expect((await fetch(`http://localhost:${uiPort}`)).status).toBe(200);
    expect(first.output()).toContain(`Oen              http://127.0.0.1:${oenPort} (sandbox emulator)`);
    expect(first.output()).toContain(`MWD              http://127.0.0.1:${mwdPort} (sandbox emulator)`);
    const seeded = await fetch(`http://127.0.0.1:${oenPort}/order/ORDER00001/transactions`, {
      headers: { Authorization: 'Bearer sandbox' },
    });
    expect(await seeded.json()).toMatchObject({ code: 'S0000', data: { transactions: [{ id: 'P20240412CIK7KPPH' }] } });

    // The API, with the development secret it printed: a signed event is accepted and its refund succeeds.
    expect(first.output()).toContain(`API              http://localhost:${apiPort}`);
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
    await expect
      .poll(async () => ((await (await fetch(`http://localhost:${apiPort}/v1/refunds/${event.data.refundId}`)).json()) as { status: string }).status, {
        timeout: 30_000,
      })
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

    // The banner's demo, pasted as printed: the CLI sends the signed event, waits, shows the refund
    // succeed; its status command shows it too; the Web UI's own API finds it under
    // RefundStatus="succeeded".
    const demo = /^ {2}(npx refundflow .* refund .* --wait.*)$/m.exec(first.output())?.[1];
    expect(demo).toBeDefined();
    const pasted = execFileSync('sh', ['-c', demo ?? 'false'], { encoding: 'utf8' });
    expect(pasted).toMatch(/^accepted: refund RF-DEMO-/m);
    expect(pasted).toMatch(/^RF-DEMO-\S+ {2}succeeded$/m);
    const status = /^ {2}(npx refundflow .* status RF-DEMO-\S+)$/m.exec(first.output())?.[1];
    const shown = execFileSync('sh', ['-c', status ?? 'false'], { encoding: 'utf8' });
    expect(shown).toMatch(/^RF-DEMO-\S+ {2}succeeded\n {2}provider {3}oen \(transaction P\w+\)/m);
    const demoWorkflowId = /Web UI {5}http:\S+\/workflows\/(\S+)/.exec(shown)?.[1];
    expect(demoWorkflowId).toMatch(/^oen-refund-P/);
    const query = encodeURIComponent('RefundStatus="succeeded"');
    await expect
      .poll(async () => {
        const listed = await fetch(`http://localhost:${uiPort}/api/v1/namespaces/default/workflows?query=${query}`);
        const { executions } = (await listed.json()) as { executions?: Array<{ execution: { workflowId: string } }> };
        return executions?.map((e) => e.execution.workflowId);
      }, { timeout: 10_000 })
      .toContain(demoWorkflowId);

    await stopWithCtrlC(first, 'Temporal dev server stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);

    const second = npmStart(env);
    await second.waitForOutput(/Press Ctrl-C to stop/, 120_000);
    const again = await Connection.connect({ address: `localhost:${port}` });
    try {
      const { status } = await new Client({ connection: again }).workflow.getHandle(workflowId).describe();
      expect(status.code).toBe(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
    } finally {
      await again.close();
    }
    await stopWithCtrlC(second, 'Temporal dev server stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 300_000);

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
});
