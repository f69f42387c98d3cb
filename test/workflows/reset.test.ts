import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { startRefund } from '../../src/client/refunds.js';
import type { MwdRefundRequested, OenRefundRequested, RefundRecord } from '../../src/domain/refund.js';
import { randomHid } from '../../src/sandbox/oen.js';
import { useEngine } from '../helpers/engine.js';
import { admin, sandboxRefunds } from '../helpers/sandbox.js';

/**
 * Issue 7, part 6: an operator resets a completed refund with the `temporal` CLI, as from a terminal
 * (`temporal workflow reset … --type FirstWorkflowTask`): the new run replays the refund from the
 * start and must not refund it a second time (money-safety rule 5: keys from the business request).
 */
const engine = useEngine('reset');
const exec = promisify(execFile);

async function oenRefund(): Promise<OenRefundRequested> {
  const transactionHid = randomHid();
  const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
  await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 1000 }] });
  return { refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid, amount: 1000 };
}

async function mwdRefund(): Promise<MwdRefundRequested> {
  const orderId = `RESET-${randomUUID().slice(0, 8)}`;
  const cardToken = `tok-${randomUUID()}`;
  await admin(engine().sandboxes.mwdUrl, 'POST', 'seed', { orders: [{ orderId, cardToken, amount: 550 }] });
  return { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 550, cardToken };
}

const sandboxUrl = (provider: 'oen' | 'mwd') => (provider === 'oen' ? engine().sandboxes.oenUrl : engine().sandboxes.mwdUrl);
const requests = async (provider: 'oen' | 'mwd') =>
  (await admin<{ requests: { refund: number } }>(sandboxUrl(provider), 'GET', 'requests')).requests.refund;

describe('an operator Reset of a completed refund, from the temporal CLI', () => {
  it.each([
    ['Oen', oenRefund],
    ['MWD', mwdRefund],
  ] as const)('%s: the reset run ends succeeded with the same reference, and nothing is sent again', async (_name, refund) => {
    const request = await refund();
    const reference = request.provider === 'oen' ? request.transactionHid : request.orderId;
    const { temporal } = engine();
    const worker = await engine().worker();
    await worker.runUntil(async () => {
      const started = await startRefund(temporal.client, temporal.taskQueue, request);
      if (started.kind !== 'started') throw new Error(JSON.stringify(started));
      const first = await temporal.client.workflow.getHandle<() => Promise<RefundRecord>>(started.workflowId).result();
      expect(first.status).toBe('succeeded');
      const sent = await requests(request.provider);

      const { stdout } = await exec(inject('temporalCliPath'), [
        'workflow', 'reset',
        '--address', temporal.address,
        '--namespace', 'default',
        '--workflow-id', started.workflowId,
        '--type', 'FirstWorkflowTask',
        '--reason', 'operator: reset from the CLI',
        '--output', 'json',
      ]);
      const { runId } = JSON.parse(stdout) as { runId: string };
      expect(runId).not.toBe(started.runId);

      const again: WorkflowHandle<() => Promise<RefundRecord>> = temporal.client.workflow.getHandle(started.workflowId, runId);
      const second = await again.result();
      expect(second).toMatchObject({ refundId: request.refundId, status: 'succeeded', providerReference: first.providerReference });
      expect(await requests(request.provider)).toBe(sent);
    });
    expect((await sandboxRefunds(sandboxUrl(request.provider))).filter((r) => r.reference === reference)).toHaveLength(1);
  });
});
