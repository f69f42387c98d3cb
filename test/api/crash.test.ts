import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Signer } from '../../src/api/signature.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { newWebhookSecret, oenRefundEvent } from '../helpers/api.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { useEngine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { sandboxRefunds } from '../helpers/sandbox.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The API process is SIGKILLed after it wrote an event to the inbox and before its workflow was
 * started; started again, it starts the workflow from the inbox, and the refund happens once.
 * Two processes share the ledger (the API, and this test's worker), so this runs on PostgreSQL.
 */
const postgres = await postgresAvailable();
const engine = useEngine('api-crash');

const ledger = usePostgresLedger(postgres);

function apiProcess(env: Record<string, string>): RunningProcess {
  return run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], { ...process.env, ...env });
}

describe.skipIf(!postgres)('the API killed between the inbox write and the workflow start', () => {
  it('starts the workflow from the inbox when it is back: the refund happens, once', async () => {
    const { temporal } = engine();
    const secret = newWebhookSecret();
    const [port] = await freePorts(1);
    const proxy = await startTcpProxy(temporal.address);
    const env = {
      DATABASE_URL: ledger().url,
      REFUNDS_TASK_QUEUE: temporal.taskQueue,
      INGEST_WEBHOOK_SECRET: secret,
      PORT: String(port),
    };
    const event = await oenRefundEvent(engine());
    const inbox = new EventInbox(ledger().db);

    // Temporal goes silent after the API connected: the start hangs, and the API is killed then.
    const first = apiProcess({ ...env, TEMPORAL_ADDRESS: proxy.address });
    try {
      await first.waitForOutput(/API listening/, 60_000);
      proxy.hold();
      const body = JSON.stringify(event);
      const sent = fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...new Signer(secret).sign(event.id, body) },
        body,
      }).catch((err: unknown) => err);
      await expect.poll(async () => (await inbox.get(event.id))?.status, { timeout: 10_000, interval: 50 }).toBe('pending');
      first.signalGroup('SIGKILL');
      await first.exited;
      expect(await sent).toBeInstanceOf(Error); // the sender never got an answer, and will send again
    } finally {
      first.signalGroup('SIGKILL');
      await proxy.close();
    }
    expect(await temporal.client.workflow.getHandle(`oen-refund-${event.data.transactionHid}`).describe().catch(() => 'no run')).toBe('no run');

    const worker = await engine().worker({}, { ledger: new RefundLedger(ledger().db) });
    const second = apiProcess({ ...env, TEMPORAL_ADDRESS: temporal.address });
    try {
      await worker.runUntil(async () => {
        await second.waitForOutput(/API listening/, 60_000);
        await expect.poll(async () => (await inbox.get(event.id))?.status, { timeout: 30_000 }).toBe('started');
        const record: unknown = await temporal.client.workflow.getHandle(`oen-refund-${event.data.transactionHid}`).result();
        expect(record).toMatchObject({ refundId: event.data.refundId, status: 'succeeded' });
        // The sender's retry of the same event is answered as a duplicate.
        const body = JSON.stringify(event);
        const retried = await fetch(`http://127.0.0.1:${port}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...new Signer(secret).sign(`${event.id}-${randomUUID()}`, body) },
          body,
        });
        expect(retried.status).toBe(200);
      });
    } finally {
      second.signalGroup('SIGTERM');
      await second.exited;
    }
    const refunds = (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === event.data.transactionHid);
    expect(refunds).toHaveLength(1);
  }, 180_000);
});
