import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import { ensureClusterBinaries } from '../../scripts/cluster/binaries.js';
import { applySchema, frontendConnectionOptions, HISTORY_HOSTS, startCluster, type RunningCluster } from '../../scripts/cluster/cluster.js';
import { startDevServer, type RunningDevServer } from '../../scripts/dev-server.js';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { dropDatabases, testClusterOptions } from './cluster.js';
import { freePorts } from './ports.js';

/** Which Temporal a long run (chaos, benchmark) runs on; see test/helpers/temporal.ts for the suite's. */
export type TemporalKind = 'dev' | 'cluster';

export function parseTemporalKind(value: string | undefined): TemporalKind {
  if (value === undefined || value === 'dev') return 'dev';
  if (value === 'cluster') return 'cluster';
  throw new Error(`--temporal takes dev or cluster, not ${value}`);
}

/** A Temporal of the run's own, with the faults the chaos run puts on it. */
export interface TemporalUnderTest {
  kind: TemporalKind;
  address: string;
  /** What the engine's processes need to reach it (Temporal's envconfig variables). */
  env: Record<string, string>;
  /** For clients in this process (scans, the benchmark's starter). */
  connectionOptions(): ConnectionOptions;
  /** The server's process ids, for CPU figures: by host. */
  pids(): Record<string, number>;
  /** The server-side faults, one per call, in order; each answers what it did ('1 dev server restart'). */
  faults: Array<() => Promise<string>>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The dev server (the CLI's, on a SQLite file; its fault: a restart), or the production-shaped
 * cluster with mutual TLS on its frontend (its faults: a history host SIGKILLed and started again,
 * then the frontend restarted).
 */
export async function startTemporalUnderTest(
  kind: TemporalKind,
  dataDir: string,
  log: (line: string) => void,
  { random = Math.random, dbConnections = { store: 4, visibility: 2 } }: { random?: () => number; dbConnections?: { store: number; visibility: number } } = {},
): Promise<TemporalUnderTest> {
  const cliPath = await ensureTemporalCli({ log });
  if (kind === 'dev') {
    const [port, uiPort] = (await freePorts(2)) as [number, number];
    const serverOptions = { cliPath, dataDir, port, uiPort, namespace: 'default' };
    let server: RunningDevServer = await startDevServer(serverOptions, log);
    return {
      kind,
      address: server.address,
      env: { TEMPORAL_ADDRESS: server.address },
      connectionOptions: () => ({ address: server.address }),
      pids: () => ({ 'dev server': server.pid }),
      faults: [
        async () => {
          log('chaos: restarting the Temporal dev server');
          await server.stop();
          server = await startDevServer(serverOptions, log);
          return '1 dev server restart';
        },
      ],
      stop: () => server.stop(),
    };
  }

  const binaries = await ensureClusterBinaries({ log });
  const suffix = `${process.pid}_run${Date.now() % 1_000_000}`;
  // Named after this process, so that a later suite drops them if this run is cut short.
  const databases = { temporal: `rf_cluster_${suffix}_temporal`, visibility: `rf_cluster_${suffix}_visibility` };
  const { options, certs } = await testClusterOptions({ binaries, cliPath, databases, logDir: join(dataDir, 'cluster'), dbConnections, log });
  const { tls } = options;
  if (!tls) throw new Error('the test cluster has TLS');
  mkdirSync(options.logDir, { recursive: true });
  await applySchema(options);
  const cluster: RunningCluster = await startCluster(options);
  const clientTls = { ...tls };
  return {
    kind,
    address: cluster.address,
    env: {
      TEMPORAL_ADDRESS: cluster.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
      TEMPORAL_TLS_SERVER_NAME: certs.serverName,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.key,
    },
    connectionOptions: () => frontendConnectionOptions(cluster.address, clientTls),
    pids: () => Object.fromEntries(Object.entries(cluster.pids()).filter(([host]) => host !== 'ui')),
    faults: [
      async () => {
        const victim = HISTORY_HOSTS[Math.floor(random() * HISTORY_HOSTS.length)] ?? 'history-1';
        log(`chaos: SIGKILL to the ${victim} host`);
        await cluster.kill(victim);
        await sleep(5_000); // how long the host stays down: the outage itself, not a wait
        log(`chaos: starting the ${victim} host again`);
        await cluster.restart(victim);
        return '1 history host SIGKILL';
      },
      async () => {
        log('chaos: restarting the frontend');
        await cluster.kill('frontend', 'SIGTERM');
        await cluster.restart('frontend');
        await cluster.waitUntilServing();
        return '1 frontend restart';
      },
    ],
    stop: async () => {
      await cluster.stop();
      await dropDatabases((name) => name === databases.temporal || name === databases.visibility);
      for (const dir of certs.dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
