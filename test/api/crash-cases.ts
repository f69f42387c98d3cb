import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Signer } from '../../src/webhooks/signing.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { newWebhookSecret, oenRefundEvent } from '../helpers/api.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../../src/api/main.js';
import { loadConfig } from '../../src/config.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { crashCasesOn, postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { useEngine, type Engine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { sandboxRefunds } from '../helpers/sandbox.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import type { TemporalTarget } from '../helpers/temporal.js';

/**
 * The API process is SIGKILLed after it wrote an event to the inbox and before its workflow was
 * started; started again, it starts the workflow from the inbox, and the refund happens once. On
 * PostgreSQL the API comes back as a process beside this test's worker; on the embedded PGlite
 * (which one process holds) it comes back in this test's process with the worker, as `npm start`
 * runs them, taking the ledger over from the dead one.
 */
const postgres = await postgresAvailable();

const postgresLedger = usePostgresLedger(postgres);

function apiProcess(env: Record<string, string>): RunningProcess {
  // The ledger is the one named in `env`: no DATABASE_URL from the environment for the PGlite run.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL'));
  return run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], { ...inherited, ...env });
}

/**
 * The file's cases on the dev server (test/workflows or test/api, engine project) or on the cluster
 * (test/cluster, cluster project): each Temporal's cases run once, in the project whose global setup
 * starts that Temporal.
 */
export function describeApiCrash(target: TemporalTarget): void {
  const engine: () => Engine = useEngine(target === 'dev' ? 'api-crash' : 'api-crash-cluster', target);
  describe.each(crashCasesOn(target, postgres))(
    'the API killed between the inbox write and the workflow start, Temporal $target, ledger on $kind',
    ({ kind }) => {
      it('starts the workflow from the inbox when it is back: the refund happens, once', async () => {
        const { temporal } = engine();
        const secret = newWebhookSecret();
        const [port] = await freePorts(1);
        const proxy = await startTcpProxy(temporal.address);
        const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-api-crash-'));
        const env = {
          ...(kind === 'postgres' ? { DATABASE_URL: postgresLedger().url } : { DATA_DIR: dataDir }),
          REFUNDS_TASK_QUEUE: temporal.taskQueue,
          INGEST_WEBHOOK_SECRET: secret,
          PORT: String(port),
        };
        const event = await oenRefundEvent(engine());
        const workflowId = `oen-refund-${event.data.transactionHid}`;
        // PGlite: read only while no API process holds it.
        const inboxStatus = async (db?: Database) => (db ? (await new EventInbox(db).get(event.id))?.status : undefined);

        // Temporal goes silent after the API connected: the start hangs, and the API is killed then.
        const first = apiProcess({ ...env, ...temporal.env, TEMPORAL_ADDRESS: proxy.address });
        try {
          await first.waitForOutput(/API listening/, 60_000);
          proxy.hold();
          const body = JSON.stringify(event);
          const sent = fetch(`http://127.0.0.1:${port}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...new Signer(secret).sign(event.id, body) },
            body,
          }).catch((err: unknown) => err);
          if (kind === 'postgres') {
            await expect.poll(() => inboxStatus(postgresLedger().db), { timeout: 10_000, interval: 50 }).toBe('pending');
          } else {
            // The ledger is the API process's own until it dies. The intake asks Temporal to start the
            // workflow only once the inbox holds the event: that request, held at the proxy, says it is
            // written (the inbox is checked to hold it, pending, once the process is gone).
            await expect
              .poll(() => proxy.heldFromClientIncludes(workflowId), { timeout: 30_000, interval: 50, message: `the API asked Temporal to start ${workflowId}` })
              .toBe(true);
          }
          first.signalGroup('SIGKILL');
          await first.exited;
          expect(await sent).toBeInstanceOf(Error); // the sender never got an answer, and will send again
        } finally {
          first.signalGroup('SIGKILL');
          await proxy.close();
        }
        expect(
          await temporal.client.workflow
            .getHandle(workflowId)
            .describe()
            .catch(() => 'no run'),
        ).toBe('no run');

        const db = kind === 'postgres' ? postgresLedger().db : await pgliteDatabase(join(dataDir, 'ledger'));
        if (kind === 'pglite') expect(await inboxStatus(db)).toBe('pending');
        const worker = await engine().worker({}, { ledger: new RefundLedger(db) });
        const second =
          kind === 'postgres'
            ? apiProcess({ ...env, ...temporal.env })
            : await startApi({
                config: loadConfig({ ...env, TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'error' }),
                client: temporal.client,
                db,
                webhookSecret: secret,
                host: '127.0.0.1',
              });
        try {
          await worker.runUntil(async () => {
            if ('waitForOutput' in second) await second.waitForOutput(/API listening/, 60_000);
            await expect.poll(() => inboxStatus(db), { timeout: 30_000 }).toBe('started');
            const record: unknown = await temporal.client.workflow.getHandle(workflowId).result();
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
          if ('signalGroup' in second) {
            second.signalGroup('SIGTERM');
            await second.exited;
          } else {
            await second.close();
          }
          if (kind === 'pglite') await db.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
        const refunds = (await sandboxRefunds(engine().sandboxes.oenUrl)).filter((r) => r.reference === event.data.transactionHid);
        expect(refunds).toHaveLength(1);
      }, 240_000);
    },
  );
}
