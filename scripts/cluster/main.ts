/**
 * `npm run cluster`: a production-shaped Temporal on this machine's PostgreSQL (scripts/cluster/cluster.ts)
 * — five server hosts (frontend, two history, matching, internal worker) and the UI server — until
 * Ctrl-C. Then, in another terminal, `TEMPORAL_ADDRESS=127.0.0.1:7233 DATABASE_URL=… npm start` runs
 * the engine on it (the banner prints the exact command).
 *
 * Settings (environment):
 *   CLUSTER_POSTGRES_URL   the PostgreSQL server for Temporal's databases (postgres://postgres@127.0.0.1:5432)
 *   TEMPORAL_NAMESPACE     the namespace to create (default), with TEMPORAL_NAMESPACE_RETENTION (3d)
 *   TEMPORAL_DB_MAX_CONNS, TEMPORAL_VISIBILITY_DB_MAX_CONNS
 *                          each host's PostgreSQL pools (8 and 3: five hosts share the server's max_connections)
 *   CODEC_SERVER_PORT      where the engine's codec server listens (8234), for the UI's decoding
 *   DATA_DIR               the host logs go to <DATA_DIR>/cluster/ (.data)
 */
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureTemporalCli } from '../temporal-cli.js';
import { ensureClusterBinaries, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION } from './binaries.js';
import { applySchema, DEFAULT_POOLS, DEFAULT_PORTS, HISTORY_HOSTS, startCluster, type ClusterOptions, type ClusterPorts } from './cluster.js';

const LEDGER_DATABASE = 'refundflow';

export function postgresFromUrl(url: string): ClusterOptions['postgres'] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`CLUSTER_POSTGRES_URL is not a URL: ${url.replace(/\/\/[^@]*@/, '//…@')}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('CLUSTER_POSTGRES_URL must be a postgres:// URL');
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
  };
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(true));
    server.listen(port, '127.0.0.1', () => server.close(() => done(false)));
  });
}

/** Each host's pool sizes: TEMPORAL_DB_MAX_CONNS and TEMPORAL_VISIBILITY_DB_MAX_CONNS, or the defaults (DEFAULT_POOLS). */
export function poolSizes(env: NodeJS.ProcessEnv): { store: number; visibility: number } {
  const size = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    if (!/^[1-9]\d{0,3}$/.test(value)) throw new Error(`${name} must be a whole number of connections from 1 to 9999, not "${value}"`);
    return Number(value);
  };
  return { store: size('TEMPORAL_DB_MAX_CONNS', DEFAULT_POOLS.store), visibility: size('TEMPORAL_VISIBILITY_DB_MAX_CONNS', DEFAULT_POOLS.visibility) };
}

async function checkPorts(ports: ClusterPorts): Promise<void> {
  const taken: string[] = [];
  for (const [name, port] of Object.entries(ports) as Array<[string, number]>) if (await portTaken(port)) taken.push(`${port} (${name})`);
  if (taken.length > 0) {
    throw new Error(
      `Port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already in use: is another cluster, or npm start's dev server (7233, 8233), running? Stop it first.`,
    );
  }
}

/** The engine's ledger database beside Temporal's, so that the printed npm start command just works. */
async function ensureLedgerDatabase(postgres: ClusterOptions['postgres']): Promise<string> {
  const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [LEDGER_DATABASE]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${LEDGER_DATABASE}`);
  } finally {
    await client.end();
  }
  const auth = postgres.password ? `${encodeURIComponent(postgres.user)}:…@` : `${encodeURIComponent(postgres.user)}@`;
  return `postgres://${auth}${postgres.host}:${postgres.port}/${LEDGER_DATABASE}`;
}

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const postgres = postgresFromUrl(process.env.CLUSTER_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432');
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const codecPort = process.env.CODEC_SERVER_PORT ?? '8234';
  const logDir = join(resolve(process.env.DATA_DIR ?? '.data'), 'cluster');
  const dbConnections = poolSizes(process.env);
  await checkPorts(DEFAULT_PORTS);

  const cliPath = await ensureTemporalCli({ log });
  const binaries = await ensureClusterBinaries({ log });
  const options: ClusterOptions = {
    binaries,
    cliPath,
    postgres,
    databases: { temporal: 'temporal', visibility: 'temporal_visibility' },
    ports: DEFAULT_PORTS,
    namespace,
    retention: process.env.TEMPORAL_NAMESPACE_RETENTION ?? '3d',
    dbConnections,
    codecEndpoint: `http://localhost:${codecPort}`,
    logDir,
    log,
  };
  log(`Temporal's databases on ${postgres.host}:${postgres.port}: creating or upgrading their schemas (deploy/temporal/schema.sh)`);
  await applySchema(options);
  const ledgerUrl = await ensureLedgerDatabase(postgres);
  const cluster = await startCluster(options);

  const pids = cluster.pids();
  const rows: Array<[string, string]> = [
    ['Temporal server', `v${TEMPORAL_SERVER_VERSION} on PostgreSQL (databases temporal, temporal_visibility; SQL visibility; 8 history shards)`],
    ['Frontend', `${cluster.address} (pid ${pids.frontend})`],
    ...HISTORY_HOSTS.map((host, i): [string, string] => [
      `History host ${i + 1}`,
      `127.0.0.1:${i === 0 ? DEFAULT_PORTS.history1 : DEFAULT_PORTS.history2} (pid ${pids[host]})`,
    ]),
    ['Matching', `127.0.0.1:${DEFAULT_PORTS.matching} (pid ${pids.matching})`],
    ['Internal worker', `127.0.0.1:${DEFAULT_PORTS.worker} (pid ${pids.worker})`],
    ['Web UI', `${cluster.uiUrl} (UI server v${TEMPORAL_UI_VERSION}; terminate, reset, start and batch actions off)`],
    ['Codec', `the UI decodes through http://localhost:${codecPort} with your browser's sign-in there (npm start runs it when PAYLOAD_ENCRYPTION_KEYS is set)`],
    ['Namespace', `${namespace}, refund search attributes registered`],
    ['Logs', logDir],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  log('\nrefundflow cluster is up:');
  for (const [name, value] of rows) log(`  ${name.padEnd(width)}  ${value}`);
  log('\nRun the engine on it, in another terminal:');
  log(`  TEMPORAL_ADDRESS=${cluster.address} DATABASE_URL=${ledgerUrl} npm start`);
  log('\nCtrl-C stops every host.');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping the UI server and the Temporal hosts`);
    cluster.stop().then(
      () => {
        log('Stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`Stopping failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`npm run cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
