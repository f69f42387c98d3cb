import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { processAlive } from '../../src/ledger/database.js';
import { ensureClusterBinaries } from '../../scripts/cluster/binaries.js';
import { applySchema, DEFAULT_PORTS, startCluster, type ClusterOptions, type ClusterPorts, type RunningCluster } from '../../scripts/cluster/cluster.js';
import { postgresFromUrl } from '../../scripts/cluster/main.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';
import { freePorts } from './ports.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PREFIX = 'rf_cluster_';

/** What the suite's cluster gives every test file (vitest's provide/inject: plain data only). */
export interface TestClusterInfo {
  address: string;
  uiUrl: string;
  namespace: string;
  logDir: string;
  /** Temporal's database (on the suite's PostgreSQL, TEST_DATABASE_URL's server): its membership and shards tables show the hosts. */
  temporalDatabaseUrl: string;
  /** The port the browser test's codec server must listen on: the UI server was pointed at it. */
  codecPort: number;
  tls: {
    ca: string;
    serverName: string;
    clientCert: string;
    clientKey: string;
    /** Signed by a CA the frontend does not trust. */
    strangerCert: string;
    strangerKey: string;
  };
}

/** The variables (Temporal's envconfig ones) a process needs to reach the suite's cluster with its client certificate. */
export function clusterEnv(info: TestClusterInfo): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: info.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: info.tls.ca,
    TEMPORAL_TLS_SERVER_NAME: info.tls.serverName,
    TEMPORAL_TLS_CLIENT_CERT_PATH: info.tls.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: info.tls.clientKey,
  };
}

/** Drops the test clusters' databases (rf_cluster_…) that `which` picks. */
export async function dropDatabases(which: (name: string) => boolean): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
    for (const { datname } of rows.filter((row) => which(row.datname))) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

/** Every port a cluster listens on, each picked free for a test's cluster. */
const PORT_NAMES = Object.keys(DEFAULT_PORTS) as Array<keyof ClusterPorts>;

/**
 * A cluster's options for a test or a long run: free ports, this machine's PostgreSQL
 * (TEST_DATABASE_URL's server), and mutual TLS on the frontend from two new test authorities (the
 * second's client certificate is one the frontend must refuse). Small connection pools by default:
 * in npm test the cluster shares the machine's PostgreSQL (max_connections 100) with others and the ledgers.
 */
export async function testClusterOptions({
  dbConnections = { store: 4, visibility: 2 },
  ...given
}: Pick<ClusterOptions, 'binaries' | 'cliPath' | 'databases' | 'logDir' | 'codecEndpoint' | 'dbConnections' | 'log'>): Promise<{
  options: ClusterOptions;
  certs: TestCertificates;
}> {
  const certs = makeTestCertificates();
  const free = await freePorts(PORT_NAMES.length);
  const ports = Object.fromEntries(PORT_NAMES.map((name, i) => [name, free[i]])) as Record<keyof ClusterPorts, number>;
  const options: ClusterOptions = {
    ...given,
    postgres: postgresFromUrl(ADMIN_URL),
    ports,
    namespace: 'default',
    retention: '1d',
    dbConnections,
    tls: {
      serverCa: certs.ca,
      frontendCert: certs.server.cert,
      frontendKey: certs.server.key,
      serverName: certs.serverName,
      clientCa: certs.ca,
      internalClientCert: certs.client.cert,
      internalClientKey: certs.client.key,
    },
  };
  return { options, certs };
}

/**
 * The suite's production-shaped cluster: five server hosts on PostgreSQL with mutual TLS on the
 * frontend, and the UI server. Its databases are this run's own (named after the process), dropped
 * at the end.
 */
export async function startTestCluster(cliPath: string): Promise<{ info: TestClusterInfo; cluster: RunningCluster; teardown(): Promise<void> }> {
  const binaries = await ensureClusterBinaries({ log: (line) => console.log(line) });
  // The databases of earlier suite runs whose process is gone (a run cut short leaves its own).
  await dropDatabases((name) => {
    const pid = Number(/^rf_cluster_(\d+)_/.exec(name)?.[1]);
    return Number.isInteger(pid) && !processAlive(pid);
  });
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-cluster-'));
  const [codecPort] = (await freePorts(1)) as [number];
  const databases = { temporal: `${PREFIX}${process.pid}_temporal`, visibility: `${PREFIX}${process.pid}_visibility` };
  const { options, certs } = await testClusterOptions({
    binaries,
    cliPath,
    databases,
    logDir: join(dir, 'logs'),
    codecEndpoint: `http://localhost:${codecPort}`,
  });
  await applySchema(options);
  const cluster = await startCluster(options);
  const info: TestClusterInfo = {
    address: cluster.address,
    uiUrl: cluster.uiUrl,
    namespace: options.namespace,
    logDir: options.logDir,
    temporalDatabaseUrl: Object.assign(new URL(ADMIN_URL), { pathname: `/${databases.temporal}` }).toString(),
    codecPort,
    tls: {
      ca: certs.ca,
      serverName: certs.serverName,
      clientCert: certs.client.cert,
      clientKey: certs.client.key,
      strangerCert: certs.stranger.cert,
      strangerKey: certs.stranger.key,
    },
  };
  return {
    info,
    cluster,
    async teardown() {
      await cluster.stop();
      await dropDatabases((name) => name === databases.temporal || name === databases.visibility);
      // The hosts' logs stay with the run's other artifacts, for a failure to be read afterwards.
      const kept = join('test', 'artifacts', 'cluster-logs');
      rmSync(kept, { recursive: true, force: true });
      cpSync(options.logDir, kept, { recursive: true });
      for (const d of [dir, ...certs.dirs]) rmSync(d, { recursive: true, force: true });
    },
  };
}
