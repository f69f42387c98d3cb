/**
 * A production-shaped Temporal on this machine's PostgreSQL: the server's services as separate
 * processes — frontend, matching, the internal worker and two history hosts, finding each other
 * through the membership table over loopback — with SQL visibility, the namespace and refund search
 * attributes set up, and the standalone UI server in front, decoding payloads through the engine's
 * codec server with the browser's credentials.
 *
 * Every file it runs with is the compose stack's too: the server configuration template
 * (deploy/temporal/config/refundflow.yaml), its dynamic config, the schema and setup scripts and the
 * UI server's settings (deploy/temporal/ui.env). `npm run cluster` (scripts/cluster/main.ts), the
 * suite's cluster (test/global-setup/cluster.ts), the chaos run and the benchmark start it through here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { refundSearchAttributes } from '../../src/domain/search-attributes.js';
import type { ClusterBinaries } from './binaries.js';
import { tieChild } from '../watchdog.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const deployDir = join(root, 'deploy', 'temporal');

/** The server's hosts and the UI server, as `npm run cluster` names them. */
export const HISTORY_HOSTS = ['history-1', 'history-2'] as const;
export type HistoryHost = (typeof HISTORY_HOSTS)[number];
export type ServerHost = 'frontend' | 'matching' | 'worker' | HistoryHost;
export type ClusterHost = ServerHost | 'ui';
export const SERVER_HOSTS: readonly ServerHost[] = ['frontend', ...HISTORY_HOSTS, 'matching', 'worker'];

export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history1: number;
  history1Membership: number;
  history2: number;
  history2Membership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  ui: number;
}

/** `npm run cluster`'s ports: the server's usual ones (the second history host's beside them), the UI on 8233. */
export const DEFAULT_PORTS: ClusterPorts = {
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history1: 7234,
  history1Membership: 6934,
  history2: 7236,
  history2Membership: 6936,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
  ui: 8233,
};

/** The frontend's TLS, mutual when `clientCa` is given (deploy/temporal/config/refundflow.yaml's TLS part). */
export interface ClusterTls {
  /** The CA that signed the frontend's certificate: the UI server and the setup step trust it. */
  serverCa: string;
  frontendCert: string;
  frontendKey: string;
  /** The server name in the frontend's certificate, as clients check it. */
  serverName: string;
  /** Clients must show a certificate signed by this CA. */
  clientCa?: string;
  /** The certificate the server's own system workers, the UI server and the setup step present. */
  internalClientCert?: string;
  internalClientKey?: string;
}

export interface ClusterOptions {
  binaries: ClusterBinaries;
  /** The Temporal CLI: deploy/temporal/setup.sh creates the namespace and search attributes with it. */
  cliPath: string;
  postgres: { host: string; port: number; user: string; password?: string };
  /** Temporal's two databases (created when missing). */
  databases: { temporal: string; visibility: string };
  ports: ClusterPorts;
  namespace: string;
  retention: string;
  /** The codec server as the browser reaches it; the UI server sends the browser's cookies to it. */
  codecEndpoint?: string;
  /** Where the UI is opened from (its CORS origin); http://localhost:<ui port> by default. */
  uiOrigin?: string;
  tls?: ClusterTls;
  historyShards?: number;
  /**
   * Each host's PostgreSQL connections, at most (the store's, visibility's): five hosts hold up to
   * five times these, and a PostgreSQL server has its max_connections (100 by default) for all.
   */
  dbConnections?: { store: number; visibility: number };
  /** Each host's log goes to <logDir>/<host>.log. */
  logDir: string;
  log?: (line: string) => void;
}

export interface RunningCluster {
  address: string;
  uiUrl: string;
  logDir: string;
  /** The pid of each host's process now. */
  pids(): Record<ClusterHost, number>;
  /** SIGKILL the host (or `signal`) and wait until its process is gone. */
  kill(host: ClusterHost, signal?: NodeJS.Signals): Promise<void>;
  /** Start a host that was killed again, with the same settings. */
  restart(host: ClusterHost): Promise<void>;
  /** Wait until the frontend answers and the namespace is served. */
  waitUntilServing(timeoutMs?: number): Promise<void>;
  /** Each host that exited without being told to (not by kill, restart or stop), and how, so far. */
  unplannedExits(): string[];
  stop(): Promise<void>;
}

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

/** Reads deploy/temporal/ui.env: the UI server settings compose gives its temporal-ui service too. */
export function uiSettings(): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const line of readFileSync(join(deployDir, 'ui.env'), 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq < 1) throw new ClusterError(`deploy/temporal/ui.env: not NAME=value: ${trimmed}`);
    settings[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return settings;
}

/** The history shards of a cluster whose options do not say (compose's default too). */
export const DEFAULT_HISTORY_SHARDS = 8;

/** The search attributes as deploy/temporal/setup.sh takes them (Name=Type pairs; compose lists the same). */
export function searchAttributePairs(): string {
  const names: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int' };
  return refundSearchAttributes
    .map((key) => {
      const type = names[key.type];
      if (!type) throw new ClusterError(`No setup type name for search attribute ${key.name} (${key.type})`);
      return `${key.name}=${type}`;
    })
    .join(' ');
}

function postgresEnv(options: ClusterOptions): NodeJS.ProcessEnv {
  const { postgres, databases } = options;
  return {
    POSTGRES_SEEDS: postgres.host,
    DB_PORT: String(postgres.port),
    POSTGRES_USER: postgres.user,
    POSTGRES_PWD: postgres.password ?? '',
    SQL_PASSWORD: postgres.password ?? '',
    TEMPORAL_DB: databases.temporal,
    TEMPORAL_VISIBILITY_DB: databases.visibility,
  };
}

/** Each host's PostgreSQL pools unless told otherwise: five hosts share one server's max_connections (100 by default). */
export const DEFAULT_POOLS = { store: 8, visibility: 3 } as const;

/** Each host's pool sizes; the template keeps as many idle as open (deploy/temporal/config/refundflow.yaml says why). */
function connectionLimits({ store, visibility }: { store: number; visibility: number }): NodeJS.ProcessEnv {
  return {
    TEMPORAL_DB_MAX_CONNS: String(store),
    TEMPORAL_VISIBILITY_DB_MAX_CONNS: String(visibility),
  };
}

/** A history host's gRPC and membership ports. */
export function historyHostPorts(ports: ClusterPorts, host: HistoryHost): { grpc: number; membership: number } {
  return host === 'history-2' ? { grpc: ports.history2, membership: ports.history2Membership } : { grpc: ports.history1, membership: ports.history1Membership };
}

/** The environment the server's config template reads, for one host. */
export function serverHostEnv(host: ServerHost, options: ClusterOptions): NodeJS.ProcessEnv {
  const { ports, tls } = options;
  const history = historyHostPorts(ports, host === 'history-2' ? 'history-2' : 'history-1');
  return {
    ...postgresEnv(options),
    TEMPORAL_HISTORY_SHARDS: String(options.historyShards ?? DEFAULT_HISTORY_SHARDS),
    ...connectionLimits(options.dbConnections ?? DEFAULT_POOLS),
    TEMPORAL_DYNAMIC_CONFIG_FILE: join(deployDir, 'dynamicconfig.yaml'),
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    BIND_ON_IP: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    HISTORY_GRPC_PORT: String(history.grpc),
    HISTORY_MEMBERSHIP_PORT: String(history.membership),
    MATCHING_GRPC_PORT: String(ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    WORKER_GRPC_PORT: String(ports.worker),
    WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
    ...(tls && {
      TEMPORAL_TLS_FRONTEND_CERT: tls.frontendCert,
      TEMPORAL_TLS_FRONTEND_KEY: tls.frontendKey,
      TEMPORAL_TLS_SERVER_CA_CERT: tls.serverCa,
      TEMPORAL_TLS_FRONTEND_SERVER_NAME: tls.serverName,
      ...(tls.clientCa && { TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true', TEMPORAL_TLS_CLIENT1_CA_CERT: tls.clientCa }),
      ...(tls.internalClientCert && { TEMPORAL_TLS_SYSTEM_WORKER_CERT: tls.internalClientCert, TEMPORAL_TLS_SYSTEM_WORKER_KEY: tls.internalClientKey }),
    }),
  };
}

function serverArgs(host: ServerHost): string[] {
  const service = host.startsWith('history') ? 'history' : host;
  return ['--root', root, '--config', join('deploy', 'temporal', 'config'), '--env', 'refundflow', '--allow-no-auth', 'start', '--service', service];
}

/** The UI server's environment: deploy/temporal/ui.env, then what differs per deployment. */
function uiEnv(options: ClusterOptions): NodeJS.ProcessEnv {
  const { ports, tls } = options;
  return {
    ...uiSettings(),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.frontend}`,
    TEMPORAL_UI_PORT: String(ports.ui),
    TEMPORAL_DEFAULT_NAMESPACE: options.namespace,
    TEMPORAL_CORS_ORIGINS: options.uiOrigin ?? `http://localhost:${ports.ui}`,
    ...(options.codecEndpoint && { TEMPORAL_CODEC_ENDPOINT: options.codecEndpoint, TEMPORAL_CODEC_INCLUDE_CREDENTIALS: 'true' }),
    ...(tls && {
      TEMPORAL_TLS_CA: tls.serverCa,
      TEMPORAL_TLS_SERVER_NAME: tls.serverName,
      TEMPORAL_TLS_ENABLE_HOST_VERIFICATION: 'true',
      ...(tls.internalClientCert && { TEMPORAL_TLS_CERT: tls.internalClientCert, TEMPORAL_TLS_KEY: tls.internalClientKey }),
    }),
  };
}

/** How the setup step (the Temporal CLI) reaches the frontend: the envconfig variables Temporal's tools read. */
export function cliTlsEnv(tls: ClusterTls | undefined): NodeJS.ProcessEnv {
  if (!tls) return {};
  return {
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.serverCa,
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
    ...(tls.internalClientCert && { TEMPORAL_TLS_CLIENT_CERT_PATH: tls.internalClientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: tls.internalClientKey }),
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = openSync(logFile, 'a');
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    closeSync(out);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else {
        const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
        reject(new ClusterError(`${command} ${args.join(' ')} failed (exit ${code}); the end of ${logFile}:\n${tail}`));
      }
    });
  });
}

/** Creates Temporal's databases when missing and brings their schemas up to date (deploy/temporal/schema.sh). */
export async function applySchema(options: ClusterOptions): Promise<void> {
  mkdirSync(options.logDir, { recursive: true });
  await run(
    'sh',
    [join(deployDir, 'schema.sh')],
    { ...postgresEnv(options), TEMPORAL_SCHEMA_DIR: options.binaries.schemaDir, SQL_TOOL: options.binaries.sqlTool },
    join(options.logDir, 'schema.log'),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the cluster; its schema must be in place (applySchema). */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const log = options.log ?? (() => undefined);
  mkdirSync(options.logDir, { recursive: true });
  const children = new Map<ClusterHost, ChildProcess>();
  const exited = new Map<ClusterHost, Promise<void>>();
  let stopping = false;
  /** Children killed on purpose (kill, restart, stop): their exit is not news. */
  const planned = new WeakSet<ChildProcess>();
  const unplannedExits: string[] = [];

  const spawnHost = (host: ClusterHost) => {
    const logFile = join(options.logDir, `${host}.log`);
    const out = openSync(logFile, 'a');
    const [command, args, env] =
      host === 'ui'
        ? [options.binaries.uiServer, ['--root', options.binaries.uiRoot, '--env', 'docker', 'start'], uiEnv(options)]
        : [options.binaries.server, serverArgs(host), serverHostEnv(host, options)];
    // Its own process group, so that a Ctrl-C in the terminal reaches npm run cluster alone, which
    // then stops every host in order; tied to this process (scripts/watchdog.ts), so that a
    // supervisor killed before it could — npm run cluster, the suite's global setup, the chaos run,
    // the benchmark — takes its hosts with it instead of leaving them on their ports.
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    tieChild(child);
    children.set(host, child);
    exited.set(
      host,
      new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          if (!stopping && !planned.has(child) && children.get(host) === child) {
            const exit = `${host} exited (${signal ?? `code ${code}`}); its log: ${logFile}`;
            unplannedExits.push(exit);
            log(exit);
          }
          resolve();
        });
      }),
    );
    writeFileSync(join(options.logDir, 'pids.json'), JSON.stringify(Object.fromEntries([...children].map(([name, c]) => [name, c.pid]))));
  };

  const address = `127.0.0.1:${options.ports.frontend}`;
  const uiUrl = `http://localhost:${options.ports.ui}`;

  const waitUntilServing = async (timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        await describeNamespace(options, address);
        return;
      } catch (err) {
        last = err;
        await sleep(500);
      }
    }
    throw new ClusterError(
      `The cluster's frontend ${address} did not serve namespace ${options.namespace} within ${timeoutMs / 1000}s: ${last instanceof Error ? last.message : String(last)}; logs in ${options.logDir}`,
    );
  };

  const send = (host: ClusterHost, signal: NodeJS.Signals): boolean => {
    const child = children.get(host);
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return false;
    planned.add(child);
    try {
      process.kill(-child.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    return true;
  };

  /** Sends `signal` and waits for the host to exit; a host a SIGTERM has not stopped in 10 s gets SIGKILL. */
  const kill = async (host: ClusterHost, signal: NodeJS.Signals = 'SIGKILL') => {
    if (!send(host, signal)) return;
    const gone = exited.get(host) ?? Promise.resolve();
    if (signal !== 'SIGKILL' && (await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)])) === false) send(host, 'SIGKILL');
    await gone;
  };

  const stop = async () => {
    stopping = true;
    // The UI and the frontend first (no new calls), then the hosts behind them.
    for (const host of ['ui', 'frontend', 'worker', 'matching', ...HISTORY_HOSTS] as const) await kill(host, 'SIGTERM');
  };

  try {
    log(`Starting the Temporal server's hosts: ${SERVER_HOSTS.join(', ')} (logs in ${options.logDir})`);
    // The frontend first: on a new database the first host to start writes the cluster's metadata,
    // and hosts that start together race to insert it — the losers exit ("duplicate key"). Its gRPC
    // port opens only after that write, so the others start once it listens.
    spawnHost('frontend');
    await waitForListening(options.ports.frontend, 'frontend', options, children);
    for (const host of SERVER_HOSTS.filter((h) => h !== 'frontend')) spawnHost(host);
    await waitForFrontend(address, options, children);
    log('Setting up the namespace and search attributes (deploy/temporal/setup.sh)');
    await run(
      'sh',
      [join(deployDir, 'setup.sh')],
      {
        PATH: `${dirname(options.cliPath)}:${process.env.PATH ?? ''}`,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: options.namespace,
        TEMPORAL_NAMESPACE_RETENTION: options.retention,
        REFUND_SEARCH_ATTRIBUTES: searchAttributePairs(),
        ...cliTlsEnv(options.tls),
      },
      join(options.logDir, 'setup.log'),
    );
    await waitUntilServing();
    spawnHost('ui');
    await waitForUi(uiUrl, children);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    address,
    uiUrl,
    logDir: options.logDir,
    pids: () => Object.fromEntries([...children].map(([host, child]) => [host, child.pid ?? 0])) as Record<ClusterHost, number>,
    kill,
    restart: async (host) => {
      await kill(host);
      spawnHost(host);
      if (host === 'ui') await waitForUi(uiUrl, children);
    },
    waitUntilServing,
    unplannedExits: () => [...unplannedExits],
    stop,
  };
}

/** How the cluster's own readiness checks reach its frontend, as its internal clients do. */
export function frontendConnectionOptions(address: string, tls: ClusterTls | undefined): ConnectionOptions {
  if (!tls) return { address };
  return {
    address,
    tls: {
      serverNameOverride: tls.serverName,
      serverRootCACertificate: readFileSync(tls.serverCa),
      ...(tls.internalClientCert &&
        tls.internalClientKey && { clientCertPair: { crt: readFileSync(tls.internalClientCert), key: readFileSync(tls.internalClientKey) } }),
    },
  };
}

async function describeNamespace(options: ClusterOptions, address: string): Promise<void> {
  const connection = await Connection.connect({ ...frontendConnectionOptions(address, options.tls), connectTimeout: 2_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: options.namespace });
  } finally {
    await connection.close();
  }
}

async function waitForFrontend(address: string, options: ClusterOptions, children: Map<ClusterHost, ChildProcess>): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last: unknown;
  while (Date.now() < deadline) {
    for (const [host, child] of children) {
      if (child.exitCode !== null)
        throw new ClusterError(`The ${host} host exited (code ${child.exitCode}) while the cluster started; see ${join(options.logDir, `${host}.log`)}`);
    }
    try {
      const connection = await Connection.connect({ ...frontendConnectionOptions(address, options.tls), connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = err;
      await sleep(500);
    }
  }
  throw new ClusterError(
    `The cluster's frontend ${address} did not answer within 120s: ${last instanceof Error ? last.message : String(last)}; logs in ${options.logDir}`,
  );
}

async function waitForListening(port: number, host: ClusterHost, options: ClusterOptions, children: Map<ClusterHost, ChildProcess>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const child = children.get(host);
    if (child?.exitCode !== null && child?.exitCode !== undefined) {
      throw new ClusterError(`The ${host} host exited (code ${child.exitCode}) while the cluster started; see ${join(options.logDir, `${host}.log`)}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(300);
  }
  throw new ClusterError(`The ${host} host did not listen on ${port} within 120s; see ${join(options.logDir, `${host}.log`)}`);
}

async function waitForUi(uiUrl: string, children: Map<ClusterHost, ChildProcess>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (children.get('ui')?.exitCode !== null) throw new ClusterError('The UI server exited while starting; see ui.log');
    try {
      if ((await fetch(uiUrl)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  throw new ClusterError(`The UI server did not answer at ${uiUrl} within 60s`);
}
