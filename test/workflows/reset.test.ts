import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import { useEngine } from '../helpers/engine.js';
import { refundRequestCount, sandboxRefunds, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';
import { startAccepted } from '../helpers/inbox.js';

/**
 * Issue 7, part 6: an operator resets a completed refund with the `temporal` CLI, as from a terminal
 * (`temporal workflow reset … --type FirstWorkflowTask`): the new run replays the refund from the
 * start and must not refund it a second time (money-safety rule 5: keys from the business request).
 */
const engine = useEngine('reset');
const exec = promisify(execFile);

const sandboxUrl = (provider: 'oen' | 'mwd') => (provider === 'oen' ? engine().sandboxes.oenUrl : engine().sandboxes.mwdUrl);
const oenRefund = () => seededOenRefund(engine().sandboxes.oenUrl);
const mwdRefund = () => seededMwdRefund(engine().sandboxes.mwdUrl);

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
      const started = await startAccepted(temporal.client, temporal.taskQueue, engine().db, request);
      if (started.kind !== 'started') throw new Error(JSON.stringify(started));
      const first = await temporal.client.workflow.getHandle<() => Promise<RefundRecord>>(started.workflowId).result();
      expect(first.status).toBe('succeeded');
      const sent = await refundRequestCount(sandboxUrl(request.provider));

      const { stdout } = await exec(inject('temporalCliPath'), [
        'workflow',
        'reset',
        '--address',
        temporal.address,
        '--namespace',
        'default',
        '--workflow-id',
        started.workflowId,
        '--type',
        'FirstWorkflowTask',
        '--reason',
        'operator: reset from the CLI',
        '--output',
        'json',
      ]);
      const { runId } = JSON.parse(stdout) as { runId: string };
      expect(runId).not.toBe(started.runId);

      const again: WorkflowHandle<() => Promise<RefundRecord>> = temporal.client.workflow.getHandle(started.workflowId, runId);
      const second = await again.result();
      expect(second).toMatchObject({ refundId: request.refundId, status: 'succeeded', providerReference: first.providerReference });
      expect(await refundRequestCount(sandboxUrl(request.provider))).toBe(sent);
    });
    expect((await sandboxRefunds(sandboxUrl(request.provider))).filter((r) => r.reference === reference)).toHaveLength(1);
  });
});
