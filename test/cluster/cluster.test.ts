import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clientDataConverter } from '../../src/codec/data-converter.js';
import { loadConfig } from '../../src/config.js';
import { newSigningKey, verifyKeyOf } from '../../src/domain/decision-proof.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN, startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { Signer } from '../../src/webhooks/signing.js';
import { OutcomeReceiver } from '../chaos/processes.js';
import { newWebhookSecret } from '../helpers/api.js';
import { TEST_PLAIN_HTTP } from '../helpers/engine.js';
import { shardOwners } from '../../scripts/cluster/history-hosts.js';
import { clusterEnv } from '../helpers/cluster.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { freePorts } from '../helpers/ports.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { admin, refundRequestCount, sandboxRefunds } from '../helpers/sandbox.js';
import { targetConnectionOptions } from '../helpers/temporal.js';

/**
 * The suite's production-shaped cluster (test/helpers/cluster.ts, started by test/global-setup/cluster.ts):
 * what it is made of, that its frontend takes only clients with a certificate its CA signed, and the
 * engine's whole path on it as compose runs it — a worker process and an API process on a PostgreSQL
 * ledger, payloads encrypted, decisions signed.
 */
const info = inject('cluster');
const postgres = await postgresAvailable();

describe('the cluster', () => {
  it('runs the server as five processes — frontend, two history hosts sharing 8 shards, matching, internal worker — that found each other', async () => {
    const pids = JSON.parse(readFileSync(join(info.logDir, 'pids.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(pids).sort()).toEqual(['frontend', 'history-1', 'history-2', 'matching', 'ui', 'worker']);
    expect(new Set(Object.values(pids)).size).toBe(6);
    const services = Object.fromEntries(
      Object.entries(pids).map(([host, pid]) => [
        host,
        /--service (\w+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '))?.[1] ?? 'none',
      ]),
    );
    expect(services).toEqual({ frontend: 'frontend', 'history-1': 'history', 'history-2': 'history', matching: 'matching', worker: 'worker', ui: 'none' });

    // What the hosts wrote in the membership table, and the shards they share.
    const db = new pg.Client({ connectionString: info.temporalDatabaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ role: number; hosts: string }>(
        "SELECT role, count(DISTINCT rpc_port)::text AS hosts FROM cluster_membership WHERE record_expiry > (now() AT TIME ZONE 'utc') GROUP BY role ORDER BY role",
      );
      // Roles as Temporal numbers them: 1 frontend, 2 history, 3 matching, 4 worker.
      expect(rows).toEqual([
        { role: 1, hosts: '1' },
        { role: 2, hosts: '2' },
        { role: 3, hosts: '1' },
        { role: 4, hosts: '1' },
      ]);
      // Every shard owned, and, once the ring has settled, by the two history hosts: their owners
      // as the chaos run reads them ("<gRPC address>-<sequence>-<process uuid>").
      const owners = await shardOwners(db);
      expect(owners.map((s) => s.shardId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const ownerHosts = async () =>
        new Set((await shardOwners(db)).map((s) => /^(127\.0\.0\.1:\d+)-\d+-[0-9a-f-]{36}$/.exec(s.owner)?.[1] ?? `unreadable: ${s.owner}`));
      await expect.poll(async () => [...(await ownerHosts())].sort(), { timeout: 60_000, interval: 1_000 }).toHaveLength(2);
      expect([...(await ownerHosts())].every((h) => /^127\.0\.0\.1:\d+$/.test(h))).toBe(true);
    } finally {
      await db.end();
    }
  }, 90_000);

  it('gives a task queue one partition, as deploy/temporal/dynamicconfig.yaml says (docs/performance.md, "Task queue partitions")', async () => {
    const connection = await Connection.connect(targetConnectionOptions('cluster'));
    try {
      const partitions = await connection.workflowService.listTaskQueuePartitions({
        namespace: info.namespace,
        taskQueue: { name: `partitions-${randomUUID()}` },
      });
      expect([partitions.workflowTaskQueuePartitions?.length, partitions.activityTaskQueuePartitions?.length]).toEqual([1, 1]);
    } finally {
      await connection.close();
    }
  });

  it('serves the refund search attributes on SQL visibility, in the namespace it created', async () => {
    const connection = await Connection.connect(targetConnectionOptions('cluster'));
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: info.namespace });
      expect(Object.keys(customAttributes ?? {}).sort()).toEqual(['OrderId', 'RefundAmount', 'RefundProvider', 'RefundStatus', 'TransactionHid']);
    } finally {
      await connection.close();
    }
  });
});

describe('the cluster frontend, mutual TLS on', () => {
  /** 'answered', or why the connection or the call failed. */
  const refused = async (tls: ConnectionOptions['tls']) => {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: info.address, tls, connectTimeout: 5_000 });
      await connection.workflowService.getSystemInfo({});
      return 'answered';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    } finally {
      await connection?.close();
    }
  };

  it('answers a client with a certificate its CA signed', async () => {
    expect(await refused(targetConnectionOptions('cluster').tls)).toBe('answered');
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    const serverOnly = { serverNameOverride: info.tls.serverName, serverRootCACertificate: readFileSync(info.tls.ca) };
    expect(await refused(serverOnly)).not.toBe('answered');
    const stranger = { ...serverOnly, clientCertPair: { crt: readFileSync(info.tls.strangerCert), key: readFileSync(info.tls.strangerKey) } };
    expect(await refused(stranger)).not.toBe('answered');
  });

  it('the worker process connects with the right certificate, and stops with a clear message without one', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...clusterEnv(info),
      REFUNDS_TASK_QUEUE: `mtls-${randomUUID()}`,
      METRICS_ADDRESS: 'off',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'refundflow-mtls-')),
    };
    delete env.DATABASE_URL;
    const withCert = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], env);
    try {
      await withCert.waitForOutput(/Worker polling/, 120_000);
    } finally {
      withCert.signalGroup('SIGTERM');
      await withCert.exited;
    }
    const withoutCert: NodeJS.ProcessEnv = { ...env };
    delete withoutCert.TEMPORAL_TLS_CLIENT_CERT_PATH;
    delete withoutCert.TEMPORAL_TLS_CLIENT_KEY_PATH;
    const refusedWorker = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], withoutCert);
    expect(await refusedWorker.exited).not.toBe(0);
    const output = refusedWorker.output();
    // One line: where, how it tried, which settings to give — and the SDK's own words after.
    // (The refusal shows as a TLS alert, or — TLS 1.3 — as the connection closing: both name the settings.)
    expect(output).toContain(`Worker failed: cannot connect to Temporal at ${info.address} (namespace default; TLS): the server `);
    expect(output).toMatch(/^Worker failed: .*set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/m);
    expect(output).not.toContain(readFileSync(info.tls.clientKey, 'utf8').split('\n')[1]);
  }, 180_000);
});

describe.skipIf(!postgres)('the engine on the cluster, as compose runs it', () => {
  const ledger = usePostgresLedger(postgres);
  let sandboxes: RunningSandboxes;
  let receiver: OutcomeReceiver;
  let worker: RunningProcess;
  let api: RunningProcess;
  let apiUrl: string;
  const ingestSecret = newWebhookSecret();
  const encryptionKeys = `cluster-test:${randomBytes(32).toString('base64')}`;
  const taskQueue = `cluster-engine-${randomUUID()}`;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
    const outcomeSecret = newWebhookSecret();
    receiver = new OutcomeReceiver(outcomeSecret, 0, Math.random);
    await receiver.start();
    const [port] = (await freePorts(1)) as [number];
    apiUrl = `http://127.0.0.1:${port}`;
    const signingKey = newSigningKey();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...clusterEnv(info),
      DATABASE_URL: ledger().url,
      REFUNDS_TASK_QUEUE: taskQueue,
      // As compose runs it: versioned, in a deployment of this file's own (the suite's cluster is shared).
      WORKER_VERSIONING: 'on',
      WORKER_DEPLOYMENT_NAME: `cluster-engine-${randomUUID().slice(0, 8)}`,
      PAYLOAD_ENCRYPTION_KEYS: encryptionKeys,
      METRICS_ADDRESS: 'off',
      OEN_BASE_URL: sandboxes.oenUrl,
      OEN_TOKEN: SANDBOX_TOKEN,
      OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
      MWD_BASE_URL: sandboxes.mwdUrl,
      MWD_TOKEN: SANDBOX_TOKEN,
      OUTCOME_WEBHOOK_URL: receiver.url,
      OUTCOME_WEBHOOK_SECRET: outcomeSecret,
      ALLOW_PLAIN_HTTP: TEST_PLAIN_HTTP,
      OPERATOR_VERIFY_KEYS: verifyKeyOf(signingKey),
      OPERATOR_SIGNING_KEY: signingKey,
      INGEST_WEBHOOK_SECRET: ingestSecret,
      PORT: String(port),
    };
    worker = run(process.execPath, ['--import', 'tsx', 'src/worker.ts'], env);
    api = run(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], env);
    await Promise.all([worker.waitForOutput(/Worker polling/, 120_000), api.waitForOutput(/API listening/, 60_000)]);
  }, 180_000);

  afterAll(async () => {
    for (const p of [worker, api]) p?.signalGroup('SIGTERM');
    await Promise.all([worker?.exited, api?.exited]);
    await receiver?.close();
    await sandboxes?.close();
  });

  it('a signed event becomes one refund at Oen, a succeeded ledger row, an outcome event, and a run the UI can find by RefundStatus', async () => {
    const transactionHid = randomHid();
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    await admin(sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 1200 }] });
    const refundId = `RF-${randomUUID()}`;
    const event = {
      specversion: '1.0',
      id: `evt_${randomUUID()}`,
      source: 'order-management',
      type: 'refund.requested',
      time: new Date().toISOString(),
      data: { refundId, provider: 'oen', orderId, transactionHid, amount: 1200, reason: 'cluster end to end' },
    };
    const body = JSON.stringify(event);
    const send = (id: string) =>
      fetch(`${apiUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...new Signer(ingestSecret).sign(id, body) }, body });
    const before = await refundRequestCount(sandboxes.oenUrl);

    expect((await send(event.id)).status).toBe(202);
    await expect
      .poll(async () => (await ledger().db.query<{ status: string }>('SELECT status FROM refunds WHERE refund_id = $1', [refundId])).rows[0]?.status, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe('succeeded');
    await expect.poll(() => receiver.deliveries.filter((d) => d.refundId === refundId).map((d) => d.type), { timeout: 30_000 }).toEqual(['refund.succeeded']);
    // The sender's retry of the same event changes nothing.
    expect((await send(`${event.id}-again`)).status).toBe(200);
    expect((await sandboxRefunds(sandboxes.oenUrl)).filter((r) => r.reference === transactionHid)).toHaveLength(1);
    expect((await refundRequestCount(sandboxes.oenUrl)) - before).toBe(1);

    // SQL visibility: the run is found by its search attributes, as an operator filters in the UI.
    const connection = await Connection.connect(targetConnectionOptions('cluster'));
    try {
      // Its memo and payloads are encrypted: read with the engine's keys.
      const client = new Client({
        connection,
        namespace: info.namespace,
        dataConverter: clientDataConverter(loadConfig({ PAYLOAD_ENCRYPTION_KEYS: encryptionKeys })),
      });
      const query = `RefundStatus = "succeeded" AND TransactionHid = "${transactionHid}"`;
      await expect
        .poll(
          async () => {
            const found: string[] = [];
            for await (const execution of client.workflow.list({ query })) found.push(execution.workflowId);
            return found;
          },
          { timeout: 30_000, interval: 1_000 },
        )
        .toEqual([`oen-refund-${transactionHid}`]);
    } finally {
      await connection.close();
    }
  }, 150_000);
});
