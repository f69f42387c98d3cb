import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { loadConfigOrExit, type Config } from './config.js';
import { handleShutdownSignals } from './shutdown.js';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/** Where an unset TEMPORAL_ADDRESS points: the dev server `npm start` runs. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `localhost:${config.TEMPORAL_DEV_PORT}`;
}

export interface CreateWorkerOptions {
  config: Config;
  connection: NativeConnection;
  /** A prebuilt bundle (tests build one per suite); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createWorker({ config, connection, workflowBundle }: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.REFUNDS_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createActivities({ now: () => new Date() }),
    // On shutdown, running activities get this long to finish; after it they are cancelled and
    // Temporal hands them to another worker once their timeout passes.
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * The Runtime's own signal handling is off: each entry point decides what a signal stops, and in
 * what order (see src/shutdown.ts).
 */
export function installRuntime(logLevel: LogLevel = 'INFO'): void {
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger(logLevel) });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  installRuntime();
  const address = temporalAddress(config);
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({ config, connection });
  handleShutdownSignals({
    stop: (signal) => {
      console.log(`${signal}: finishing in-flight work, then stopping`);
      worker.shutdown();
    },
    force: () => {
      console.log('Stopping at once; unfinished activities go to another worker after their timeout');
      process.exit(130);
    },
  });
  console.log(
    `Worker polling task queue "${config.REFUNDS_TASK_QUEUE}" on ${address} (namespace ${config.TEMPORAL_NAMESPACE})`,
  );
  await worker.run();
  await connection.close();
  console.log('Worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`Worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
