import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';

export interface TemporalTestContext {
  address: string;
  /** For workers. */
  connection: NativeConnection;
  client: Client;
  /** This test file's own task queue, so files running side by side never take each other's tasks. */
  taskQueue: string;
  config: Config;
  workflowBundle: { codePath: string };
  close(): Promise<void>;
}

/** Connects to the suite's dev server (test/global-setup.ts) on a task queue of the file's own. */
export async function temporalTestContext(fileTag: string): Promise<TemporalTestContext> {
  const address = inject('temporalAddress');
  const taskQueue = `${fileTag}-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection });
  return {
    address,
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

