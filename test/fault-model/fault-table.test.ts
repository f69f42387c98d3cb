import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefundRecord } from '../../src/domain/schemas/refund-record.js';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { SandboxRefund, SandboxRefundRequest } from '../../src/sandbox/server.js';
import { useEngine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { admin, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';
import { planOf } from './row.js';
import { faultTable, type FaultRow } from './table.js';
import { randomUUID } from 'node:crypto';
import { MwdClient } from '../../src/providers/mwd/client.js';
import { OenClient } from '../../src/providers/oen/client.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../../src/sandbox/index.js';
import { startAccepted } from '../helpers/inbox.js';

/**
 * Every row of the fault model (table.ts) through the whole engine: the real Temporal dev server, the
 * emulators over real HTTP answering the row's fault to the first request of its call, a PGlite
 * ledger. Each row checks its end and the three invariants against what the emulator saw. The
 * table's checks against docs/providers.md and the issues, which need no server, are in
 * document.test.ts (unit project).
 */
const engine = useEngine('fault-table');

/** Long enough for a retry after a Retry-After under load; the refused-connection rows wait it out. */
const RETRY_WINDOW_SECONDS = '8';

let worker: Worker;
let running: Promise<void>;
/** A second worker, on its own task queue, whose providers' addresses refuse every connection. */
let refusing: Worker;
let refusingRun: Promise<void>;
const refusingQueue = `fault-table-refused-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  // MWD may refund an order twice in reality: a second refund is carried out, so a double send shows.
  await admin(engine().sandboxes.mwdUrl, 'PUT', 'options', { refuseSecondRefund: false });
  worker = await engine().worker({ PROVIDER_RETRY_WINDOW_SECONDS: RETRY_WINDOW_SECONDS });
  running = worker.run();
  const [oenPort, mwdPort] = await freePorts(2);
  refusing = await engine().worker(
    { PROVIDER_RETRY_WINDOW_SECONDS: '5', REFUNDS_TASK_QUEUE: refusingQueue },
    {
      providers: {
        oen: new OenClient({ baseUrl: `http://127.0.0.1:${oenPort}`, token: SANDBOX_TOKEN, merchantId: SANDBOX_OEN_MERCHANT_ID }),
        mwd: new MwdClient({ baseUrl: `http://127.0.0.1:${mwdPort}`, token: SANDBOX_TOKEN }),
      },
    },
  );
  refusingRun = refusing.run();
});

afterAll(async () => {
  worker.shutdown();
  refusing.shutdown();
  await Promise.all([running, refusingRun]);
});

async function runRow(row: FaultRow): Promise<{ request: RefundRequested; record: RefundRecord; seen: SandboxRefundRequest[]; carriedOut: SandboxRefund[] }> {
  const { oenUrl, mwdUrl } = engine().sandboxes;
  const url = row.provider === 'oen' ? oenUrl : mwdUrl;
  const request = row.provider === 'oen' ? await seededOenRefund(oenUrl, {}, row.seed) : await seededMwdRefund(mwdUrl, {}, row.seed);
  const reference = request.provider === 'oen' ? request.transactionHid : request.orderId;
  const plan = planOf(row, { reference, orderId: request.orderId, amount: request.amount });
  if (plan !== 'refused') {
    await admin(url, 'PATCH', 'faults', {
      ...(plan.refund && { [`refund@${reference}`]: { next: plan.refund } }),
      ...(plan.list && { [`listTransactions@${request.orderId}`]: { next: plan.list } }),
    });
  }
  const taskQueue = plan === 'refused' ? refusingQueue : engine().temporal.taskQueue;
  const started = await startAccepted(engine().temporal.client, taskQueue, engine().db, request);
  if (started.kind !== 'started') throw new Error(`not started: ${JSON.stringify(started)}`);
  let record: RefundRecord;
  try {
    record = (await engine().temporal.client.workflow.getHandle(started.workflowId).result()) as RefundRecord;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.details?.[0])) throw err;
    record = err.cause.details[0] as RefundRecord;
  }
  const seen = (await admin<{ requests: SandboxRefundRequest[] }>(url, 'GET', 'refund-requests')).requests.filter((r) => r.reference === reference);
  const carriedOut = (await admin<{ refunds: SandboxRefund[] }>(url, 'GET', 'refunds')).refunds.filter((r) => r.reference === reference);
  return { request, record, seen, carriedOut };
}

describe.concurrent('the fault model: every row over real HTTP, through the whole engine', () => {
  it.each(faultTable.map((row) => [`${row.provider} ${row.call}: ${row.answer}, ${row.acted ? 'after' : 'before'} acting`, row] as const))(
    '%s',
    async (_name, row) => {
      const { request, record, seen, carriedOut } = await runRow(row);
      expect(record.status, record.error?.message).toBe(row.end);
      expect(record.error?.code ?? null, record.error?.message).toBe(row.code);
      expect(seen.length, 'refund requests that reached the provider').toBe(row.sends);
      if (row.attempts !== undefined) expect(record.attempts).toBe(row.attempts);
      if (row.says !== undefined) expect(record.error?.message).toContain(row.says);
      const resentToRefunded = seen.filter((r) => r.alreadyRefunded);
      if (row.known) {
        // The cost the row shows: exactly it, and no more.
        expect(resentToRefunded.length, 'requests that reached a refunded transaction or order').toBe(row.known.resentToRefunded);
        expect(carriedOut.length, 'refunds the provider made').toBe(row.known.refunds);
      } else {
        // Never refunded twice: no request reaches a transaction or order already refunded.
        expect(resentToRefunded, 'requests that reached a refunded transaction or order').toEqual([]);
        expect(carriedOut.length).toBeLessThanOrEqual(1);
      }
      // failed ⇒ not refunded; succeeded ⇒ refunded, of our amount (once, unless the row shows otherwise).
      if (record.status === 'failed') expect(carriedOut).toEqual([]);
      if (record.status === 'succeeded') expect(carriedOut.map((r) => r.amount)).toEqual(carriedOut.map(() => request.amount));
      if (record.status === 'succeeded' && !row.known) expect(carriedOut).toHaveLength(1);
      // What the provider did is what the row says it did.
      expect(carriedOut.length > 0).toBe(row.acted || record.status === 'succeeded');
      // A Retry-After is honoured: the refund is not sent again sooner.
      const retryAfter = typeof row.fault === 'object' ? row.fault.headers?.['Retry-After'] : undefined;
      if (retryAfter !== undefined && seen.length > 1) {
        expect(Date.parse(seen[1]!.receivedAt) - Date.parse(seen[0]!.receivedAt)).toBeGreaterThanOrEqual(Number(retryAfter) * 1000);
      }
    },
  );
});
