import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { newSigningKey, verifyKeyOf } from '../src/domain/decision-proof.js';
import { refundSearchAttributes } from '../src/domain/search-attributes.js';
import { temporalConnection } from '../src/wiring/temporal-connection.js';
import {
  commandArgs,
  compiledCommand,
  copyOf,
  dependsOnProblems,
  documentedNames,
  execForm,
  healthcheckProblems,
  healthcheckTest,
  InterpolationError,
  interpolate,
  loadCompose,
  parseDockerfile,
  parseDotEnv,
  portClashProblems,
  publishedPorts,
  referencedVariables,
  secretVariables,
  serviceEnv,
  stages,
  type ComposeFile,
  type Env,
  type Service,
} from './helpers/compose.js';

/**
 * docker-compose.yml, .env.example and the Dockerfile, checked without a Docker engine: the compose
 * file is interpolated from .env.example as `docker compose` would, and each engine process's
 * environment goes through src/config.ts. The last block breaks copies of the files to show that
 * every check can fail.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const composeText = read('docker-compose.yml');
const envExampleText = read('.env.example');
const exampleEnv = parseDotEnv(envExampleText);
/**
 * .env.example with its example secrets replaced by new ones, as its first lines tell a person to do
 * before `docker compose up`: the engine refuses the public examples (src/config-outside-development.ts).
 */
const signingKey = newSigningKey();
const deployedEnv: Env = {
  ...exampleEnv,
  INGEST_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
  OPERATOR_SIGNING_KEY: signingKey,
  OPERATOR_VERIFY_KEYS: verifyKeyOf(signingKey),
  PAYLOAD_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  CODEC_SERVER_TOKEN: randomBytes(24).toString('hex'),
};
const compose = loadCompose(composeText, deployedEnv);
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const dockerfile = parseDockerfile(read('Dockerfile'));

/** The engine's processes, built from the Dockerfile, with what their entry points need beyond src/config.ts. */
const ENGINE = {
  worker: { entry: 'src/worker.ts', needs: ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'PAYLOAD_ENCRYPTION_KEYS', 'METRICS_ADDRESS', 'OPERATOR_VERIFY_KEYS'] },
  api: { entry: 'src/api/main.ts', needs: ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'PAYLOAD_ENCRYPTION_KEYS', 'INGEST_WEBHOOK_SECRET', 'OPERATOR_SIGNING_KEY'] },
  'codec-server': { entry: 'src/codec/main.ts', needs: ['PAYLOAD_ENCRYPTION_KEYS', 'CODEC_SERVER_TOKEN'] },
} as const;
type EngineService = keyof typeof ENGINE;
const ENGINE_SERVICES = Object.keys(ENGINE) as EngineService[];
/** Each service built from the Dockerfile that runs a process of the engine, and the npm script that runs it from source. */
const SCRIPT_OF: Record<EngineService | 'sandbox', string> = { worker: 'worker', api: 'api', 'codec-server': 'codec-server', sandbox: 'sandbox' };

function service(c: ComposeFile, name: string): Service {
  const found = c.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

function envOf(c: ComposeFile, name: string): Env {
  return serviceEnv(service(c, name), name);
}

function hostOf(url: string): { host: string; port: string } {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url}`);
  return { host: parsed.hostname, port: parsed.port };
}

/** The published host port that reaches `target` inside the service. */
function hostPortFor(c: ComposeFile, name: string, target: number): number | undefined {
  return publishedPorts(service(c, name), name).find((p) => p.target === target)?.published;
}

// ---- The checks, as functions of a compose file, so the last block can feed them broken copies ----

/** Each engine process's environment passes src/config.ts, with what its entry point requires. */
function configProblems(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const name of ENGINE_SERVICES) {
    const env = envOf(c, name);
    try {
      loadConfig(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(`${name}: ${err.message}`);
    }
    for (const variable of ENGINE[name].needs) {
      if (!env[variable]) problems.push(`${name}: ${variable} is not set`);
    }
  }
  const metrics = envOf(c, 'worker').METRICS_ADDRESS ?? '';
  if (!metrics.startsWith('0.0.0.0:')) problems.push(`worker: METRICS_ADDRESS ${metrics} cannot be scraped from other containers`);
  return problems;
}

/**
 * The worker and the API share a Temporal server, namespace, task queue, ledger and payload keys (the
 * codec server too: the keys), all on services of this file — no embedded dev server, no PGlite.
 */
function engineWiringProblems(c: ComposeFile): string[] {
  const problems: string[] = [];
  const worker = envOf(c, 'worker');
  const api = envOf(c, 'api');
  for (const [name, env] of [
    ['worker', worker],
    ['api', api],
  ] as const) {
    for (const variable of ['TEMPORAL_ADDRESS', 'DATABASE_URL'] as const) {
      const value = env[variable];
      if (!value) {
        problems.push(`${name}: no ${variable}, so it would start its embedded default (PGlite is one process's database)`);
      } else if (!c.services[hostOf(value).host]) {
        problems.push(`${name}: ${variable} points at ${hostOf(value).host}, which is not a service of this file`);
      }
    }
  }
  for (const variable of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'REFUNDS_TASK_QUEUE', 'DATABASE_URL', 'PAYLOAD_ENCRYPTION_KEYS', 'TEMPORAL_UI_URL']) {
    if (worker[variable] !== api[variable]) problems.push(`worker and api differ in ${variable}`);
  }
  if (envOf(c, 'codec-server').PAYLOAD_ENCRYPTION_KEYS !== worker.PAYLOAD_ENCRYPTION_KEYS) {
    problems.push('the codec server has other PAYLOAD_ENCRYPTION_KEYS than the worker: it could not decode');
  }
  const setup = envOf(c, 'temporal-setup');
  if (setup.TEMPORAL_ADDRESS !== worker.TEMPORAL_ADDRESS) problems.push('temporal-setup sets up another Temporal server than the worker uses');
  if (setup.TEMPORAL_NAMESPACE !== (worker.TEMPORAL_NAMESPACE || 'default')) problems.push('temporal-setup creates another namespace than the worker uses');
  if (envOf(c, 'temporal-ui').TEMPORAL_ADDRESS !== worker.TEMPORAL_ADDRESS) problems.push('the Web UI shows another Temporal server than the worker uses');
  return problems;
}

/**
 * The ledger's URLs name the roles, passwords and database deploy/postgres-init.sql creates
 * (docs/operations.md, "The ledger's two roles"): the worker's and the API's DATABASE_URL — and the
 * one ledger-migrate grants — the runtime role, which does not own the database; ledger-migrate's
 * LEDGER_MIGRATION_URL the owner. No other service holds a URL of the owner's.
 */
function ledgerDatabaseProblems(c: ComposeFile, initSql: string): string[] {
  const problems: string[] = [];
  const postgres = service(c, 'postgresql');
  const mount = (postgres.volumes ?? []).map(String).find((v) => v.includes('/docker-entrypoint-initdb.d/'));
  if (mount?.split(':')[0] !== './deploy/postgres-init.sql') problems.push('postgresql does not run deploy/postgres-init.sql at initialisation');
  // psql variable → the container's environment variable it is read from; role → that variable.
  const readFrom = new Map([...initSql.matchAll(/\\getenv (\w+) (\w+)/g)].map((m) => [m[1], m[2]]));
  const passwordVariable = new Map([...initSql.matchAll(/CREATE ROLE (\w+) LOGIN PASSWORD :'(\w+)'/g)].map((m) => [m[1] as string, readFrom.get(m[2])]));
  const database = /CREATE DATABASE (\w+) OWNER (\w+)/.exec(initSql);
  if (passwordVariable.size === 0 || !database) return [...problems, 'deploy/postgres-init.sql creates no ledger roles and database'];
  const [, name, owner] = database as unknown as [string, string, string];
  const runtime = [...passwordVariable.keys()].filter((role) => role !== owner);
  if (!passwordVariable.has(owner)) problems.push(`the ledger database's owner ${owner} is not a role the init script creates`);
  if (runtime.length !== 1) problems.push(`the init script creates ${runtime.length} roles beside the owner, not one runtime role`);
  const check = (where: string, text: string | undefined, role: string | undefined) => {
    const url = new URL(text ?? 'postgres://missing');
    if (url.username !== role) problems.push(`${where} connects as ${url.username}, the init script's ${role === owner ? 'owner' : 'runtime role'} is ${role}`);
    if (url.pathname.slice(1) !== name) problems.push(`${where} names database ${url.pathname.slice(1)}, the init script creates ${name}`);
    const variable = passwordVariable.get(url.username);
    const password = variable === undefined ? undefined : envOf(c, 'postgresql')[variable];
    if (password === undefined || decodeURIComponent(url.password) !== password) {
      problems.push(`${where}'s password is not the ${variable ?? '(no variable)'} the init script gives ${url.username}`);
    }
    if (url.hostname !== 'postgresql' || (url.port || '5432') !== '5432') problems.push(`${where} does not point at the postgresql service`);
  };
  for (const name of ['worker', 'api', 'ledger-migrate']) check(`${name}: DATABASE_URL`, envOf(c, name).DATABASE_URL, runtime[0]);
  check('ledger-migrate: LEDGER_MIGRATION_URL', envOf(c, 'ledger-migrate').LEDGER_MIGRATION_URL, owner);
  for (const other of Object.keys(c.services).filter((n) => n !== 'ledger-migrate')) {
    if (Object.values(envOf(c, other)).some((value) => new RegExp(`//${owner}[:@]`).test(String(value)))) {
      problems.push(`${other} holds a URL of the ledger's owner ${owner}: only ledger-migrate may (the owner could alter the audit trail)`);
    }
  }
  return problems;
}

/** temporal-setup registers exactly the attributes of src/domain/search-attributes.ts, with their types. */
function searchAttributeProblems(c: ComposeFile): string[] {
  const registered = (envOf(c, 'temporal-setup').REFUND_SEARCH_ATTRIBUTES ?? '').split(/\s+/).filter(Boolean).sort();
  const typeName = (valueType: string) =>
    valueType
      .split('_')
      .map((part) => part.charAt(0) + part.slice(1).toLowerCase())
      .join('');
  const expected = refundSearchAttributes.map((key) => `${key.name}=${typeName(key.type)}`).sort();
  return JSON.stringify(registered) === JSON.stringify(expected)
    ? []
    : [`temporal-setup registers ${registered.join(' ') || 'nothing'}, the engine uses ${expected.join(' ')}`];
}

/** With .env.example, the worker reaches the sandbox emulators, which accept its tokens and run by default. */
function sandboxProblems(c: ComposeFile, env: Env): string[] {
  const problems: string[] = [];
  const worker = envOf(c, 'worker');
  const sandbox = envOf(c, 'sandbox');
  for (const [provider, portVariable] of [
    ['OEN', 'SANDBOX_OEN_PORT'],
    ['MWD', 'SANDBOX_MWD_PORT'],
  ] as const) {
    const { host, port } = hostOf(worker[`${provider}_BASE_URL`] ?? '');
    if (host !== 'sandbox' || port !== sandbox[portVariable]) {
      problems.push(`worker: ${provider}_BASE_URL is not the sandbox's ${portVariable} (${sandbox[portVariable]})`);
    }
    if (worker[`${provider}_TOKEN`] !== sandbox[`${provider}_TOKEN`]) problems.push(`the sandbox does not accept the worker's ${provider}_TOKEN`);
  }
  const profiles = (env.COMPOSE_PROFILES ?? '').split(',').map((p) => p.trim());
  for (const profile of service(c, 'sandbox').profiles ?? []) {
    if (!profiles.includes(profile)) problems.push(`.env.example does not enable profile ${profile}, so the worker's providers would not run`);
  }
  return problems;
}

/**
 * The browser's view: the Web UI calls the codec server at its published port; the codec server
 * answers the UI's published origin; links and CORS name that same origin.
 */
function codecWiringProblems(c: ComposeFile, env: Env): string[] {
  const problems: string[] = [];
  const ui = envOf(c, 'temporal-ui');
  const codec = envOf(c, 'codec-server');
  const publicHost = env.PUBLIC_HOSTNAME || 'localhost';
  const uiPort = hostPortFor(c, 'temporal-ui', Number(ui.TEMPORAL_UI_PORT ?? 8080));
  const codecPort = hostPortFor(c, 'codec-server', Number(codec.CODEC_SERVER_PORT ?? 8234));
  if (uiPort === undefined) return ['the Web UI publishes no port for its TEMPORAL_UI_PORT'];
  if (codecPort === undefined) return ['the codec server publishes no port for its CODEC_SERVER_PORT'];
  const uiOrigin = `http://${publicHost}:${uiPort}`;
  const endpoint = new URL(ui.TEMPORAL_CODEC_ENDPOINT ?? 'http://missing');
  if (endpoint.hostname !== publicHost || Number(endpoint.port) !== codecPort) {
    problems.push(`TEMPORAL_CODEC_ENDPOINT ${endpoint.href} is not the codec server as a browser reaches it (${publicHost}:${codecPort})`);
  }
  if (ui.TEMPORAL_CODEC_INCLUDE_CREDENTIALS !== 'true') problems.push('the Web UI does not send the codec server its sign-in cookie');
  if (codec.CODEC_ALLOWED_ORIGIN === undefined || new URL(codec.CODEC_ALLOWED_ORIGIN).origin !== uiOrigin) {
    problems.push(`CODEC_ALLOWED_ORIGIN ${codec.CODEC_ALLOWED_ORIGIN} is not the Web UI's origin ${uiOrigin}`);
  }
  if (!(ui.TEMPORAL_CORS_ORIGINS ?? '').split(',').includes(uiOrigin)) problems.push(`TEMPORAL_CORS_ORIGINS does not list ${uiOrigin}`);
  for (const name of ['worker', 'api'] as const) {
    const link = envOf(c, name).TEMPORAL_UI_URL;
    if (link === undefined || new URL(link).origin !== uiOrigin) problems.push(`${name}: TEMPORAL_UI_URL ${link} is not the Web UI at ${uiOrigin}`);
  }
  return problems;
}

/** Each server publishes, inside its container, the port it listens on. */
function listenPortProblems(c: ComposeFile): string[] {
  const listens: [string, number][] = [
    ['api', Number(envOf(c, 'api').PORT ?? 8080)],
    ['codec-server', Number(envOf(c, 'codec-server').CODEC_SERVER_PORT ?? 8234)],
    ['temporal-ui', Number(envOf(c, 'temporal-ui').TEMPORAL_UI_PORT ?? 8080)],
    ['sandbox', Number(envOf(c, 'sandbox').SANDBOX_OEN_PORT ?? 8301)],
    ['sandbox', Number(envOf(c, 'sandbox').SANDBOX_MWD_PORT ?? 8302)],
    ['temporal', 7233],
    ['prometheus', 9090],
    ['grafana', 3000],
  ];
  return listens
    .filter(([name, port]) => hostPortFor(c, name, port) === undefined)
    .map(([name, port]) => `${name} listens on ${port} but publishes no host port for it`);
}

/** Temporal's TLS and API key settings, which every process that connects to Temporal passes through. */
const TEMPORAL_SECURITY_VARIABLES = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
];
const TEMPORAL_CLIENTS = ['worker', 'api', 'reconcile-schedule'];

/**
 * `c` interpolated with `given` values of those settings: each process that connects to Temporal gets
 * each value as given; and, as .env.example leaves them (empty), src/wiring/temporal-connection.ts
 * takes its environment as a plain connection.
 */
function temporalSecurityProblems(c: ComposeFile, given: Env): string[] {
  const problems: string[] = [];
  for (const name of TEMPORAL_CLIENTS) {
    const env = envOf(c, name);
    for (const variable of TEMPORAL_SECURITY_VARIABLES) {
      if (env[variable] !== given[variable]) problems.push(`${name} does not pass ${variable} through`);
    }
    try {
      const plain = temporalConnection(envOf(compose, name));
      if (plain.security !== 'plain') problems.push(`${name} connects ${plain.security} with .env.example`);
    } catch (err) {
      problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

/**
 * The engine's services (and the sandbox) run the Dockerfile's image, each the compiled file of its
 * npm script's entry with plain node and the script's other Node flags: the image has no tsx and no
 * source (test/image.test.ts builds the image's files and runs these commands).
 */
function commandProblems(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, scriptName] of Object.entries(SCRIPT_OF)) {
    const s = service(c, name);
    if (s.build !== '.' && (typeof s.build !== 'object' || (s.build.context ?? '.') !== '.')) problems.push(`${name} is not built from the Dockerfile`);
    const args = commandArgs(s) ?? execForm(dockerfile.findLast((i) => i.keyword === 'CMD')) ?? [];
    const script = scripts[scriptName] ?? '';
    const entry = name in ENGINE ? ENGINE[name as EngineService].entry : undefined;
    if (entry !== undefined && !script.split(/\s+/).includes(entry)) problems.push(`npm run ${scriptName} does not run ${entry}`);
    const expected = compiledCommand(script);
    if (args.join(' ') !== expected.join(' ')) problems.push(`${name} runs "${args.join(' ')}", not "${expected.join(' ')}" (npm run ${scriptName}, compiled)`);
  }
  return problems;
}

// ---- Health checks that run -----------------------------------------------------------------------

/** Serves 200 on `path` (or on nothing), 404 elsewhere, on a free port. */
async function serve(path: string | undefined): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    response.statusCode = request.url === path ? 200 : 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Runs a `node -e` health check here, in the container's environment with `overrides`; its exit code. */
function runHealthcheck(c: ComposeFile, name: string, overrides: Env): Promise<number> {
  const test = healthcheckTest(service(c, name)) ?? [];
  if (test[0] !== 'CMD' || test[1] !== 'node') throw new Error(`${name}'s health check is not a node one-liner: ${test.join(' ')}`);
  return new Promise((resolve) => {
    execFile(process.execPath, test.slice(2), { env: { ...envOf(c, name), ...overrides }, timeout: 10_000 }, (err) => {
      resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : 1);
    });
  });
}

/** Each engine health check: the path it must ask, and where its service's environment says it listens. */
const HEALTH_PROBES: { name: string; path: string; listen: (ports: number[]) => Env; ports: number }[] = [
  { name: 'api', path: '/healthz', listen: ([p]) => ({ PORT: String(p) }), ports: 1 },
  { name: 'codec-server', path: '/healthz', listen: ([p]) => ({ CODEC_SERVER_PORT: String(p) }), ports: 1 },
  { name: 'worker', path: '/metrics', listen: ([p]) => ({ METRICS_ADDRESS: `0.0.0.0:${p}` }), ports: 1 },
  { name: 'sandbox', path: '/__admin/state', listen: ([oen, mwd]) => ({ SANDBOX_OEN_PORT: String(oen), SANDBOX_MWD_PORT: String(mwd) }), ports: 2 },
];

// ---- The tests ----------------------------------------------------------------------------------

/** The engine's image, built from this folder with the commit its workers' build id names (src/release.ts). */
const engineImageBuild = { context: '.', args: { REFUNDFLOW_COMMIT: '' } };

describe('docker-compose.yml with .env.example', () => {
  it('interpolates: every variable it requires has a value in .env.example', () => {
    const required = [...referencedVariables(composeText)].filter(([, { required }]) => required).map(([name]) => name);
    expect(required.filter((name) => !exampleEnv[name])).toEqual([]);
    expect(() => loadCompose(composeText, exampleEnv)).not.toThrow();
  });

  it('documents every variable it reads in .env.example, and .env.example sets only those (and COMPOSE_*)', () => {
    const documented = documentedNames(envExampleText);
    const used = new Set([...referencedVariables(composeText).keys(), ...secretVariables(compose)]);
    expect([...used].filter((name) => !documented.has(name))).toEqual([]);
    expect(Object.keys(exampleEnv).filter((name) => !used.has(name) && !name.startsWith('COMPOSE_'))).toEqual([]);
    expect(Object.entries(exampleEnv).filter(([, value]) => value.includes('$'))).toEqual([]);
  });

  it('marks every secret in .env.example as a placeholder to replace', () => {
    const secrets = [
      'POSTGRES_PASSWORD',
      'REFUNDFLOW_DB_PASSWORD',
      'REFUNDFLOW_RUNTIME_DB_PASSWORD',
      'INGEST_WEBHOOK_SECRET',
      'OPERATOR_SIGNING_KEY',
      'PAYLOAD_ENCRYPTION_KEYS',
      'CODEC_SERVER_TOKEN',
      'GRAFANA_ADMIN_PASSWORD',
      'PROMETHEUS_API_KEY',
    ];
    const lines = envExampleText.split('\n');
    for (const name of secrets) {
      const at = lines.findIndex((line) => line.startsWith(`${name}=`));
      expect(at, name).toBeGreaterThan(0);
      expect(lines.slice(Math.max(0, at - 6), at).join('\n'), `${name}'s comment`).toMatch(/replace before use/i);
    }
  });

  it.each(ENGINE_SERVICES)('gives %s an environment that src/config.ts and its entry point accept, once the example secrets are replaced', (name) => {
    expect(configProblems(compose).filter((p) => p.startsWith(`${name}:`))).toEqual([]);
  });

  it('as shipped, stops each engine service on the example secrets it is given, naming them; the sandbox URLs pass as ALLOW_PLAIN_HTTP names them', () => {
    const problems = configProblems(loadCompose(composeText, exampleEnv));
    const named = (service: string) => problems.filter((p) => p.startsWith(`${service}:`)).join('\n');
    expect(named('worker')).toMatch(/OPERATOR_VERIFY_KEYS is the public example.*PAYLOAD_ENCRYPTION_KEYS is the public example/);
    expect(named('worker')).not.toMatch(/BASE_URL/);
    expect(named('api')).toMatch(
      /INGEST_WEBHOOK_SECRET is the public example.*OPERATOR_SIGNING_KEY is the public example.*PAYLOAD_ENCRYPTION_KEYS is the public example/,
    );
    expect(named('codec-server')).toMatch(/PAYLOAD_ENCRYPTION_KEYS is the public example.*CODEC_SERVER_TOKEN is the public example/);
    expect(exampleEnv.ALLOW_PLAIN_HTTP).toBe('OEN_BASE_URL,MWD_BASE_URL');
    expect(configProblems(loadCompose(composeText, { ...deployedEnv, ALLOW_PLAIN_HTTP: '' })).join('\n')).toMatch(
      /worker: .*OEN_BASE_URL must be an https:\/\/ URL.*MWD_BASE_URL must be an https:\/\/ URL/,
    );
  });

  it('runs the worker and the API on the Temporal server and PostgreSQL of this file, sharing what they must', () => {
    expect(engineWiringProblems(compose)).toEqual([]);
  });

  it("passes Temporal's TLS and API key settings to every process that connects to it, each optional", () => {
    const given = Object.fromEntries(TEMPORAL_SECURITY_VARIABLES.map((name) => [name, `given-${name}`]));
    expect(temporalSecurityProblems(loadCompose(composeText, { ...exampleEnv, ...given }), given)).toEqual([]);
    expect(TEMPORAL_SECURITY_VARIABLES.filter((name) => referencedVariables(composeText).get(name)?.required !== false)).toEqual([]);
  });

  it('connects the worker and the API to the ledger as the runtime role deploy/postgres-init.sql creates; only ledger-migrate as its owner', () => {
    expect(ledgerDatabaseProblems(compose, read('deploy/postgres-init.sql'))).toEqual([]);
  });

  it('migrates the ledger as its owner once PostgreSQL is up, with the CLI the image carries, before the worker and the API start', () => {
    const job = service(compose, 'ledger-migrate');
    expect(job.build).toEqual(engineImageBuild);
    expect(job.restart).toBe('no');
    expect(commandArgs(job)).toEqual(['node', 'bin/refundflow.mjs', 'ledger', 'migrate']);
    expect(job.depends_on).toMatchObject({ postgresql: { condition: 'service_healthy' } });
    for (const name of ['worker', 'api']) {
      expect(service(compose, name).depends_on, name).toMatchObject({ 'ledger-migrate': { condition: 'service_completed_successfully' } });
    }
  });

  it('registers the refund search attributes of src/domain/search-attributes.ts', () => {
    expect(searchAttributeProblems(compose)).toEqual([]);
  });

  it('points the providers at the sandbox emulators, which run by default and accept the tokens', () => {
    expect(sandboxProblems(compose, exampleEnv)).toEqual([]);
  });

  it('has a health check on every long-running service', () => {
    expect(healthcheckProblems(compose)).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'api',
        'codec-server',
        'grafana',
        'ledger-migrate',
        'postgresql',
        'prometheus',
        'reconcile-schedule',
        'sandbox',
        'temporal',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
  });

  it('publishes no host port twice, and publishes each server on the port it listens on', () => {
    expect(portClashProblems(compose)).toEqual([]);
    expect(listenPortProblems(compose)).toEqual([]);
  });

  it('depends only on services it defines, waiting for their health or their completion', () => {
    expect(dependsOnProblems(compose)).toEqual([]);
  });

  it('wires the Web UI to the codec server as a browser reaches them', () => {
    expect(codecWiringProblems(compose, exampleEnv)).toEqual([]);
  });

  it('creates the reconciliation schedule once Temporal is set up, with the CLI the image carries', () => {
    const job = service(compose, 'reconcile-schedule');
    expect(job.build).toEqual(engineImageBuild);
    expect(job.restart).toBe('no');
    expect(commandArgs(job)).toEqual(['node', 'bin/refundflow.mjs', 'schedule', 'install']);
    expect(existsSync(join(root, 'bin/refundflow.mjs'))).toBe(true);
    expect(job.depends_on).toMatchObject({ 'temporal-setup': { condition: 'service_completed_successfully' } });
    const env = job.environment as Record<string, string>;
    expect(env).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', REFUNDS_TASK_QUEUE: 'refunds', RECONCILE_INTERVAL_SECONDS: '900' });
    expect(() => loadConfig(env)).not.toThrow();
  });

  it("runs the engine from the Dockerfile: the npm scripts' entry points compiled, with plain node", () => {
    expect(commandProblems(compose)).toEqual([]);
  });

  it('mounts files that exist', () => {
    const missing = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.volumes ?? [])
        .map(String)
        .filter((volume) => volume.startsWith('./'))
        .map((volume) => volume.split(':')[0] as string)
        .filter((source) => !existsSync(join(root, source)))
        .map((source) => `${name} mounts ${source}`),
    );
    expect(missing).toEqual([]);
  });

  it.each(HEALTH_PROBES)('runs the health check of $name: up on $path where it listens, down otherwise', async ({ name, path, listen, ports }) => {
    const healthy = await Promise.all(Array.from({ length: ports }, () => serve(path)));
    const wrongPath = await Promise.all(Array.from({ length: ports }, () => serve(undefined)));
    try {
      expect(await runHealthcheck(compose, name, listen(healthy.map((s) => s.port)))).toBe(0);
      expect(await runHealthcheck(compose, name, listen(wrongPath.map((s) => s.port)))).not.toBe(0);
    } finally {
      await Promise.all([...healthy, ...wrongPath].map((s) => s.close()));
    }
    // Nothing listening there any more.
    expect(await runHealthcheck(compose, name, listen(healthy.map((s) => s.port)))).not.toBe(0);
  });
});

describe('Dockerfile', () => {
  const [build, runtime, ...more] = stages(dockerfile);
  const runs = (stage: typeof build) => (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);

  it('builds in one stage and runs in another, both on the same Node LTS on Debian slim (glibc), at least Node 22', () => {
    expect(more).toEqual([]);
    expect(build?.name).toBe('build');
    expect(runtime?.image).toBe(build?.image);
    const major = /^node:(\d+)-bookworm-slim$/.exec(runtime?.image ?? '')?.[1];
    expect(major, runtime?.image).toBeDefined();
    // Node 20 reached its end of life in April 2026; LTS lines are the even ones up to 26, every one after.
    expect(Number(major)).toBeGreaterThanOrEqual(22);
    expect(Number(major) % 2 === 0 || Number(major) >= 27).toBe(true);
  });

  it('builds with every dependency and npm run build; runs with the production dependencies only, as a user other than root', () => {
    expect(runs(build)).toEqual(['npm ci', 'npm run build']);
    expect(runs(runtime)).toEqual([expect.stringMatching(/^npm ci --omit=dev( |$)/)]);
    const env = (runtime?.instructions ?? [])
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    const instructions = runtime?.instructions ?? [];
    const lastUser = instructions.findLast((i) => i.keyword === 'USER')?.args;
    expect(lastUser).toBeDefined();
    expect(lastUser).not.toMatch(/^(root|0)(:|$)/);
    const afterUser = instructions.slice(instructions.findLastIndex((i) => i.keyword === 'USER'));
    expect(afterUser.filter((i) => i.keyword === 'RUN' || i.keyword === 'COPY')).toEqual([]);
  });

  it("copies the build stage's dist/ into the runtime stage, and no source", () => {
    const copies = (runtime?.instructions ?? []).filter((i) => i.keyword === 'COPY').map(copyOf);
    expect(copies).toContainEqual({ from: 'build', sources: ['/app/dist'], destination: './dist' });
    const fromContext = copies.filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources);
    expect(fromContext.filter((source) => /^(src|scripts|test)(\/|$)|\.ts$/.test(source))).toEqual([]);
  });

  it('starts the compiled API, as npm run api runs it from source', () => {
    const cmd = execForm(dockerfile.findLast((i) => i.keyword === 'CMD'));
    expect(cmd, 'CMD in exec form').toBeDefined();
    expect(cmd).toEqual(compiledCommand(scripts.api ?? ''));
  });

  it('keeps dependencies, builds, local state, secrets and git out of the build context, but not what it copies', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const pattern of ['node_modules', 'dist', '.data', '.git', 'test/artifacts', '.env']) expect(ignored, pattern).toContain(pattern);
    const copied = dockerfile
      .filter((i) => i.keyword === 'COPY')
      .map(copyOf)
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources);
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect(existsSync(join(root, source)), source).toBe(true);
      const parts = source.split('/').map((_, i, all) => all.slice(0, i + 1).join('/'));
      expect(
        ignored.filter((pattern) => parts.includes(pattern.replace(/^\/|\/$/g, ''))),
        source,
      ).toEqual([]);
    }
  });
});

describe('the checks above, on broken copies', () => {
  const broken = (change: (c: ComposeFile) => void): ComposeFile => {
    const copy = structuredClone(compose);
    change(copy);
    return copy;
  };
  const env = (c: ComposeFile, name: string) => service(c, name).environment as Record<string, string>;

  it('interpolation refuses a required variable without a value, and fills defaults', () => {
    expect(() => loadCompose(composeText, { ...exampleEnv, OPERATOR_SIGNING_KEY: '' })).toThrow(InterpolationError);
    expect(() => loadCompose(composeText, { ...exampleEnv, OPERATOR_SIGNING_KEY: undefined } as unknown as Env)).toThrow(/OPERATOR_SIGNING_KEY/);
    expect(() => loadCompose(composeText, { ...exampleEnv, OPERATOR_VERIFY_KEYS: undefined } as unknown as Env)).toThrow(/OPERATOR_VERIFY_KEYS/);
    expect(interpolate('${A:-x}-${A-y}-$$A-${B:?no}', { A: '', B: 'b' })).toBe('x--$A-b');
  });

  it.each([
    ['a bad secret', (c: ComposeFile) => (env(c, 'codec-server').CODEC_SERVER_TOKEN = 'short'), /codec-server: .*CODEC_SERVER_TOKEN/],
    ['a missing webhook secret', (c: ComposeFile) => delete env(c, 'api').INGEST_WEBHOOK_SECRET, /api: INGEST_WEBHOOK_SECRET is not set/],
    ['metrics on loopback', (c: ComposeFile) => (env(c, 'worker').METRICS_ADDRESS = '127.0.0.1:9464'), /METRICS_ADDRESS/],
  ])('configProblems finds %s', (_, change, problem) => {
    expect(configProblems(broken(change)).join('\n')).toMatch(problem);
  });

  it.each([
    ['PGlite in the worker', (c: ComposeFile) => delete env(c, 'worker').DATABASE_URL, /worker: no DATABASE_URL/],
    ['an embedded dev server in the API', (c: ComposeFile) => delete env(c, 'api').TEMPORAL_ADDRESS, /api: no TEMPORAL_ADDRESS/],
    ['an unknown host', (c: ComposeFile) => (env(c, 'api').TEMPORAL_ADDRESS = 'temporal-frontend:7233'), /not a service/],
    ['other keys', (c: ComposeFile) => (env(c, 'api').PAYLOAD_ENCRYPTION_KEYS = 'k2:UkVQTEFDRS1NRS1SRVBMQUNFLU1FLVJFUExBQ0UtTUU='), /differ in PAYLOAD/],
    ['another namespace', (c: ComposeFile) => (env(c, 'temporal-setup').TEMPORAL_NAMESPACE = 'refunds'), /another namespace/],
  ])('engineWiringProblems finds %s', (_, change, problem) => {
    expect(engineWiringProblems(broken(change)).join('\n')).toMatch(problem);
  });

  it('temporalSecurityProblems finds a setting a process does not pass through', () => {
    const given = Object.fromEntries(TEMPORAL_SECURITY_VARIABLES.map((name) => [name, `given-${name}`]));
    const withValues = loadCompose(composeText, { ...exampleEnv, ...given });
    const without = structuredClone(withValues);
    delete env(without, 'reconcile-schedule').TEMPORAL_TLS_CLIENT_KEY_DATA;
    expect(temporalSecurityProblems(without, given)).toEqual(['reconcile-schedule does not pass TEMPORAL_TLS_CLIENT_KEY_DATA through']);
  });

  it('ledgerDatabaseProblems finds another database, password or init script, and the owner where the runtime role belongs', () => {
    const sql = read('deploy/postgres-init.sql');
    const runtimeUrl = envOf(compose, 'worker').DATABASE_URL ?? '';
    expect(
      ledgerDatabaseProblems(
        broken((c) => (env(c, 'worker').DATABASE_URL = runtimeUrl.replace(/\/refundflow$/, '/ledger'))),
        sql,
      ).join('\n'),
    ).toMatch(/worker: DATABASE_URL names database ledger/);
    expect(
      ledgerDatabaseProblems(
        broken((c) => (env(c, 'postgresql').REFUNDFLOW_RUNTIME_DB_PASSWORD = 'other')),
        sql,
      ).join('\n'),
    ).toMatch(/worker: DATABASE_URL's password/);
    expect(
      ledgerDatabaseProblems(
        broken((c) => (env(c, 'postgresql').REFUNDFLOW_DB_PASSWORD = 'other')),
        sql,
      ).join('\n'),
    ).toMatch(/LEDGER_MIGRATION_URL's password/);
    expect(ledgerDatabaseProblems(compose, sql.replace('CREATE ROLE refundflow_runtime', 'CREATE ROLE ledger_runtime')).join('\n')).toMatch(
      /worker: DATABASE_URL connects as refundflow_runtime, the init script's runtime role is ledger_runtime/,
    );
    const asOwner = broken((c) => (env(c, 'api').DATABASE_URL = envOf(c, 'ledger-migrate').LEDGER_MIGRATION_URL ?? ''));
    expect(ledgerDatabaseProblems(asOwner, sql)).toEqual([
      "api: DATABASE_URL connects as refundflow, the init script's runtime role is refundflow_runtime",
      "api holds a URL of the ledger's owner refundflow: only ledger-migrate may (the owner could alter the audit trail)",
    ]);
    expect(ledgerDatabaseProblems(compose, sql.replace(/^CREATE ROLE refundflow_runtime.*$/m, '')).join('\n')).toMatch(/creates 0 roles beside the owner/);
    expect(
      ledgerDatabaseProblems(
        broken((c) => (service(c, 'postgresql').volumes = [])),
        sql,
      ).join('\n'),
    ).toMatch(/init/);
  });

  it('searchAttributeProblems finds a missing or mistyped attribute', () => {
    const without = (list: string) => broken((c) => (env(c, 'temporal-setup').REFUND_SEARCH_ATTRIBUTES = list));
    expect(searchAttributeProblems(without('RefundStatus=Keyword RefundProvider=Keyword OrderId=Keyword TransactionHid=Keyword'))).toHaveLength(1);
    expect(
      searchAttributeProblems(without('RefundStatus=Keyword RefundProvider=Keyword OrderId=Keyword TransactionHid=Keyword RefundAmount=Keyword')),
    ).toHaveLength(1);
  });

  it('sandboxProblems finds a wrong port, token or a profile left off', () => {
    expect(
      sandboxProblems(
        broken((c) => (env(c, 'worker').OEN_BASE_URL = 'http://sandbox:9999')),
        exampleEnv,
      ).join('\n'),
    ).toMatch(/OEN_BASE_URL/);
    expect(
      sandboxProblems(
        broken((c) => (env(c, 'sandbox').MWD_TOKEN = 'other')),
        exampleEnv,
      ).join('\n'),
    ).toMatch(/MWD_TOKEN/);
    expect(sandboxProblems(compose, { ...exampleEnv, COMPOSE_PROFILES: '' }).join('\n')).toMatch(/profile sandbox/);
  });

  it('healthcheckProblems finds a long-running service without a health check', () => {
    expect(healthcheckProblems(broken((c) => delete service(c, 'worker').healthcheck))).toEqual(['worker runs for good but has no health check']);
    expect(healthcheckProblems(broken((c) => (service(c, 'temporal-ui').healthcheck = { disable: true })))).toHaveLength(1);
  });

  it('portClashProblems and listenPortProblems find a clash and an unpublished listener', () => {
    expect(portClashProblems(broken((c) => (service(c, 'api').ports = ['127.0.0.1:8233:8080'])))).toEqual([
      'host port 8233/tcp is published by both temporal-ui and api',
    ]);
    expect(listenPortProblems(broken((c) => (env(c, 'api').PORT = '9090')))).toEqual(['api listens on 9090 but publishes no host port for it']);
  });

  it('dependsOnProblems finds an unknown service, a bare start, a job restarted forever', () => {
    expect(dependsOnProblems(broken((c) => (service(c, 'api').depends_on = { postgres: { condition: 'service_healthy' } })))).toEqual([
      'api depends on postgres, which is not a service of this file',
    ]);
    expect(dependsOnProblems(broken((c) => (service(c, 'api').depends_on = ['temporal'])))).toHaveLength(1);
    expect(dependsOnProblems(broken((c) => (service(c, 'temporal-setup').restart = 'unless-stopped')))).toHaveLength(1);
    expect(dependsOnProblems(broken((c) => (service(c, 'worker').depends_on = { sandbox: { condition: 'service_healthy' } })))).toHaveLength(1);
  });

  it.each([
    [
      'the codec endpoint on another port',
      (c: ComposeFile) => (env(c, 'temporal-ui').TEMPORAL_CODEC_ENDPOINT = 'http://localhost:8235'),
      /TEMPORAL_CODEC_ENDPOINT/,
    ],
    ['the codec server published elsewhere', (c: ComposeFile) => (service(c, 'codec-server').ports = ['127.0.0.1:9234:8234']), /TEMPORAL_CODEC_ENDPOINT/],
    ['another allowed origin', (c: ComposeFile) => (env(c, 'codec-server').CODEC_ALLOWED_ORIGIN = 'http://localhost:8080'), /CODEC_ALLOWED_ORIGIN/],
    ['the UI published elsewhere', (c: ComposeFile) => (service(c, 'temporal-ui').ports = ['127.0.0.1:8088:8080']), /CODEC_ALLOWED_ORIGIN/],
    ['links to another UI', (c: ComposeFile) => (env(c, 'api').TEMPORAL_UI_URL = 'http://localhost:8088'), /api: TEMPORAL_UI_URL/],
  ])('codecWiringProblems finds %s', (_, change, problem) => {
    expect(codecWiringProblems(broken(change), exampleEnv).join('\n')).toMatch(problem);
  });

  it('commandProblems finds tsx, another entry point, a lost Node flag, another build', () => {
    expect(commandProblems(broken((c) => (service(c, 'api').command = ['node', '--import', 'tsx', 'src/api/main.ts'])))).toHaveLength(1);
    expect(commandProblems(broken((c) => (service(c, 'api').command = ['node', 'dist/worker.js'])))).toHaveLength(1);
    expect(commandProblems(broken((c) => (service(c, 'worker').command = ['node', 'dist/worker.js'])))).toHaveLength(1);
    expect(commandProblems(broken((c) => (service(c, 'sandbox').command = ['npm', 'run', 'sandbox'])))).toHaveLength(1);
    expect(commandProblems(broken((c) => (service(c, 'worker').build = './elsewhere')))).toHaveLength(1);
  });

  it('the health check runner fails a check that asks the wrong variable', async () => {
    const copy = broken((c) => {
      const test = healthcheckTest(service(c, 'api')) ?? [];
      service(c, 'api').healthcheck = { test: test.map((arg) => arg.replace('process.env.PORT', 'process.env.API_PORT')) };
    });
    const up = await serve('/healthz');
    try {
      expect(await runHealthcheck(copy, 'api', { PORT: String(up.port) })).not.toBe(0);
    } finally {
      await up.close();
    }
  });
});
