import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { expect, inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { clusterEnv } from './cluster.js';

/**
 * Which Temporal a test file runs on: the suite's dev server (the CLI's, SQLite, one process), or
 * its production-shaped cluster (PostgreSQL, five server hosts, mutual TLS on the frontend).
 */
export type TemporalTarget = 'dev' | 'cluster';
export const TEMPORAL_TARGETS: readonly TemporalTarget[] = ['dev', 'cluster'];

export interface TemporalTestContext {
  target: TemporalTarget;
  address: string;
  /** What a worker, API or CLI process needs to reach this Temporal (address, and TLS for the cluster). */
  env: Record<string, string>;
  /** For workers. */
  connection: NativeConnection;
  client: Client;
  /** This test file's own task queue, so files running side by side never take each other's tasks. */
  taskQueue: string;
  config: Config;
  workflowBundle: { codePath: string };
  close(): Promise<void>;
}

/** How a client in the test process reaches the target (the cluster: with the suite's client certificate). */
export function targetConnectionOptions(target: TemporalTarget): {
  address: string;
  tls?: { serverNameOverride: string; serverRootCACertificate: Buffer; clientCertPair: { crt: Buffer; key: Buffer } };
} {
  if (target === 'dev') return { address: inject('temporalAddress') };
  const { address, tls } = inject('cluster');
  return {
    address,
    tls: {
      serverNameOverride: tls.serverName,
      serverRootCACertificate: readFileSync(tls.ca),
      clientCertPair: { crt: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) },
    },
  };
}

/** Connects to the suite's dev server or cluster (test/global-setup/dev-server.ts, test/global-setup/cluster.ts) on a task queue of the file's own. */
export async function temporalTestContext(fileTag: string, target: TemporalTarget = 'dev'): Promise<TemporalTestContext> {
  const options = targetConnectionOptions(target);
  const { address } = options;
  const taskQueue = `${fileTag}-${randomUUID()}`;
  const connection = await NativeConnection.connect(options);
  const clientConnection = await Connection.connect(options);
  const client = new Client({ connection: clientConnection });
  return {
    target,
    address,
    env: target === 'dev' ? { TEMPORAL_ADDRESS: address } : clusterEnv(inject('cluster')),
    connection,
    client,
    taskQueue,
    config: loadConfig({ TEMPORAL_ADDRESS: address, REFUNDS_TASK_QUEUE: taskQueue }),
    workflowBundle: { codePath: inject('workflowBundlePath') },
    async close() {
      await clientConnection.close();
      await connection.close();
    },
  };
}

/**
 * Cancels, through Temporal, a refund's run that waits before sending (for an approval) and waits
 * for it to end as its run ends such a cancel: `cancelled`, failing with RefundCancelled.
 */
export async function cancelWaitingRefund(client: Client, workflowId: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.cancel();
  await expect(handle.result()).rejects.toMatchObject({ cause: { type: 'RefundCancelled' } });
}
