import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import pg from 'pg';
import { ensureClusterBinaries } from '../../scripts/cluster/binaries.js';
import { applySchema, frontendConnectionOptions, HISTORY_HOSTS, startCluster, type ClusterTls, type RunningCluster } from '../../scripts/cluster/cluster.js';
import { startDevServer, type RunningDevServer } from '../../scripts/dev-server.js';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { makeTestCertificates } from './certificates.js';
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

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function dropDatabases(names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
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
  const certs = makeTestCertificates();
  const tls: ClusterTls = {
    serverCa: certs.ca,
    frontendCert: certs.server.cert,
    frontendKey: certs.server.key,
    serverName: certs.serverName,
    clientCa: certs.ca,
    internalClientCert: certs.client.cert,
    internalClientKey: certs.client.key,
  };
  const ports = (await freePorts(12)) as [number, number, number, number, number, number, number, number, number, number, number, number];
  const [frontend, frontendHttp, frontendMembership, history1, history1Membership, history2, history2Membership, matching, matchingMembership, worker, workerMembership, ui] = ports;
  const suffix = `${process.pid}_${Date.now() % 1_000_000}`;
  const databases = { temporal: `rf_run_${suffix}_temporal`, visibility: `rf_run_${suffix}_visibility` };
  const admin = new URL(ADMIN_URL);
  const options = {
    binaries,
    cliPath,
    postgres: { host: admin.hostname, port: Number(admin.port || 5432), user: decodeURIComponent(admin.username || 'postgres'), ...(admin.password && { password: decodeURIComponent(admin.password) }) },
    databases,
    ports: { frontend, frontendHttp, frontendMembership, history1, history1Membership, history2, history2Membership, matching, matchingMembership, worker, workerMembership, ui },
    namespace: 'default',
    retention: '1d',
    // Small pools by default: in npm test this cluster shares the machine's PostgreSQL
    // (max_connections 100) with the suite's and the ledgers.
    dbConnections,
    tls,
    logDir: join(dataDir, 'cluster'),
    log,
  };
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
        await sleep(5_000);
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
      await dropDatabases([databases.temporal, databases.visibility]);
      for (const dir of certs.dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
