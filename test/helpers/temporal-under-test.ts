import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import { ensureClusterBinaries } from '../../scripts/cluster/binaries.js';
import {
  applySchema,
  DEFAULT_HISTORY_SHARDS,
  frontendConnectionOptions,
  HISTORY_HOSTS,
  historyHostPorts,
  startCluster,
  type ClusterOptions,
  type HistoryHost,
  type RunningCluster,
} from '../../scripts/cluster/cluster.js';
import { observeHistoryHost, type HistoryHostView } from '../../scripts/cluster/history-hosts.js';
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
  /** The server-side faults, one per call, in order; each answers what it did and saw ('1 dev server restart'). */
  faults: Array<() => Promise<string>>;
  /** What went wrong on Temporal's side so far: a host that exited on its own, a killed host not seen back. */
  problems(): string[];
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
      problems: () => [],
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
  const problems: string[] = [];
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
        const before = await observeHistoryHost(temporalStore(options), historyHostPorts(options.ports, victim));
        log(`chaos: SIGKILL to the ${victim} host`);
        await cluster.kill(victim);
        // The outage: long enough for the other history host to take the victim's shards.
        await sleep(5_000); // how long the host stays down: the outage itself, not a wait
        log(`chaos: starting the ${victim} host again`);
        await cluster.restart(victim);
        const back = await waitForHistoryHost(options, victim, before, 120_000);
        if (back.problem) problems.push(back.problem);
        log(`chaos: ${back.observed}`);
        return back.observed;
      },
      async () => {
        log('chaos: restarting the frontend');
        await cluster.kill('frontend', 'SIGTERM');
        await cluster.restart('frontend');
        await cluster.waitUntilServing();
        return '1 frontend restart';
      },
    ],
    problems: () => [...problems, ...cluster.unplannedExits().map((exit) => `the cluster's ${exit}`)],
    stop: async () => {
      await cluster.stop();
      await dropDatabases((name) => name === databases.temporal || name === databases.visibility);
      for (const dir of certs.dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until a restarted history host is seen back: a membership record of a new process, and at
 * least one shard whose owner is that new process (owners before the kill do not count). Answers
 * what it saw, and a problem when it did not see both within `timeoutMs`.
 */
async function waitForHistoryHost(
  options: ClusterOptions,
  host: HistoryHost,
  before: HistoryHostView,
  timeoutMs: number,
): Promise<{ observed: string; problem?: string }> {
  const started = Date.now();
  const oldSessions = new Set(before.sessions);
  const oldOwners = new Set(before.shards.map((s) => s.owner));
  let inMembership = false;
  let shards: number[] = [];
  while (Date.now() - started < timeoutMs) {
    const view = await observeHistoryHost(temporalStore(options), historyHostPorts(options.ports, host));
    inMembership = view.sessions.some((id) => !oldSessions.has(id));
    shards = view.shards.filter((s) => !oldOwners.has(s.owner)).map((s) => s.shardId);
    if (inMembership && shards.length > 0) {
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      return {
        observed: `${host} SIGKILLed, back in the membership owning ${shards.length} of ${options.historyShards ?? DEFAULT_HISTORY_SHARDS} shards ${seconds} s after its restart`,
      };
    }
    await sleep(1_000);
  }
  const missing = [inMembership ? '' : 'no membership record of its new process', shards.length > 0 ? '' : 'no shard owned by its new process']
    .filter(Boolean)
    .join(' and ');
  return {
    observed: `${host} SIGKILLed, not seen back`,
    problem: `${host} was SIGKILLed and started again, and ${timeoutMs / 1000} s later the cluster's tables show ${missing}`,
  };
}

/** The cluster's store database (its membership and shards tables), as a PostgreSQL client connects. */
function temporalStore(options: ClusterOptions) {
  return { ...options.postgres, database: options.databases.temporal };
}
