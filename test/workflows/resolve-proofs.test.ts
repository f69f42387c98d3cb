import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/actor.js';
import { newSigningKey, signDecision } from '../../src/domain/decision-proof.js';
import { startRefund } from '../../src/client/refunds.js';
import { resolveStartOptions } from '../../src/domain/refund-start.js';
import { resolutionDetails, resolveWorkflowId, type Resolution, type ResolveInput, type ResolveResult } from '../../src/domain/resolution.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import { ReconciliationLedger } from '../../src/ledger/reconciliation.js';
import type { resolveWorkflow } from '../../src/workflows/resolve.js';
import { mwdInLedger, useEngine, useWorkerWithOutcomes } from '../helpers/engine.js';
import { throughInbox } from '../helpers/inbox.js';
import { admin, seededOenRefund } from '../helpers/sandbox.js';

/**
 * A signed resolution is in its run's input, which anyone who can read Temporal can copy. Started
 * again through Temporal — the CLI, a client — it must not settle the refund a second time, nor do
 * later what its person was told was not done: the proof names the resolution's workflow, and the
 * first run to present it claims it in the ledger. On the real dev server, with a worker.
 */
const engine = useEngine('resolve-proofs');
const signingKey = newSigningKey();
const ann: Actor = { id: 'key:ann', name: 'ann', role: 'approver', via: 'api-key' };
useWorkerWithOutcomes(engine, { OPERATOR_SIGNING_KEY: signingKey });

const oenFaults = (body: unknown) => admin(engine().sandboxes.oenUrl, 'PUT', 'faults', body);
beforeEach(() => oenFaults({}));

function signed(refundId: string, resolution: Resolution, workflowId: string | null = resolveWorkflowId(refundId)): ResolveInput {
  const unsigned = {
    action: 'resolve' as const,
    refundId,
    ...(workflowId !== null && { workflowId }),
    actor: ann,
    requestId: `req-${randomUUID()}`,
    issuedAt: Date.now(),
  };
  return { refundId, resolution, proof: signDecision(unsigned, resolutionDetails(resolution), signingKey) };
}

/** Starts `input` as the API would, or under `workflowId` as someone at Temporal could; its run id and result. */
async function run(input: ResolveInput, workflowId?: string): Promise<{ runId: string; result: ResolveResult }> {
  const { client, taskQueue } = engine().temporal;
  const refund = (await engine().ledger.get(input.refundId))!;
  const options = resolveStartOptions(input, refund, taskQueue);
  const handle = await client.workflow.start<typeof resolveWorkflow>('resolveWorkflow', { ...options, ...(workflowId !== undefined && { workflowId }) });
  return { runId: handle.firstExecutionRunId, result: await handle.result() };
}

/** Oen answered every send with HTTP 500 until the retry window ran out: requires_attention, still charged at Oen. */
async function oenNotActed(): Promise<OenRefundRequested> {
  const request = await seededOenRefund(engine().sandboxes.oenUrl);
  await throughInbox(engine().db, request);
  await oenFaults({ [`refund@${request.transactionHid}`]: { http500: 1 } });
  const { client, taskQueue } = engine().temporal;
  const started = await startRefund(client, taskQueue, request);
  expect(await client.workflow.getHandle(started.workflowId).result()).toMatchObject({ status: 'requires_attention' });
  await oenFaults({});
  return request;
}

const usedBy = (runId: string, workflowId: string) =>
  expect.stringMatching(new RegExp(`^cannot resolve: this signed resolution was used already, by run ${runId} of ${workflowId} at `)) as unknown;

describe('a signed resolution is used once, by the run it names', () => {
  it('refused when presented again after its first run was told Oen could not be asked: nothing is settled later on it', async () => {
    const request = await oenNotActed();
    await oenFaults({ [`listTransactions@${request.orderId}`]: { http500: 1 } });
    const input = signed(request.refundId, { outcome: 'failed', evidence: 'card closed' });
    const first = await run(input);
    expect(first.result).toMatchObject({ resolved: false, code: 'provider_unreachable' });
    await oenFaults({});

    // The same input, copied from the first run's history and started again once Oen answers.
    const replayed = await run(input);
    expect(replayed.result).toEqual({ resolved: false, code: 'forbidden', refused: usedBy(first.runId, resolveWorkflowId(request.refundId)) });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'OenHttp500' } });
  });

  it('refused when presented again after it settled the refund, even once the refund is back in requires_attention', async () => {
    const request = await mwdInLedger(engine());
    const input = signed(request.refundId, { outcome: 'succeeded', providerReference: 'MWD-REF-1', evidence: 'MWD merchant portal' });
    const first = await run(input);
    expect(first.result).toEqual({ resolved: true, status: 'succeeded' });
    // Back with a person, as reconciliation puts a success the provider does not bear out: the old word does not settle it again.
    const settled = (await engine().ledger.get(request.refundId))!;
    const back = await new ReconciliationLedger(engine().db).apply(settled, 'requires_attention', {
      error: { code: 'ReconcileMismatch', message: 'not at the provider after all' },
    });
    expect(back.changed).toBe(true);
    const replayed = await run(input);
    expect(replayed.result).toEqual({ resolved: false, code: 'forbidden', refused: usedBy(first.runId, resolveWorkflowId(request.refundId)) });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention', error: { code: 'ReconcileMismatch' } });
  });

  it('refused in a run of another workflow than the one it names, and when it names none', async () => {
    const request = await mwdInLedger(engine());
    const word: Resolution = { outcome: 'failed', evidence: 'MWD support: no refund on this order' };
    const elsewhere = await run(signed(request.refundId, word), `copied-${randomUUID()}`);
    expect(elsewhere.result).toMatchObject({
      resolved: false,
      code: 'forbidden',
      refused: expect.stringContaining(`the proof is for workflow ${resolveWorkflowId(request.refundId)}, not copied-`) as unknown,
    });
    const unnamed = await run(signed(request.refundId, word, null));
    expect(unnamed.result).toMatchObject({
      resolved: false,
      code: 'forbidden',
      refused: expect.stringContaining(`the proof is for workflow (none), not ${resolveWorkflowId(request.refundId)}`) as unknown,
    });
    expect(await engine().ledger.get(request.refundId)).toMatchObject({ status: 'requires_attention' });
    // A fresh proof, as the API signs one for each request, is taken.
    expect((await run(signed(request.refundId, word))).result).toEqual({ resolved: true, status: 'failed' });
  });
});
