import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRefund } from '../src/client/refunds.js';
import { clientDataConverter } from '../src/codec/data-converter.js';
import { reconcileScheduleId } from '../src/domain/reconcile.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../src/sandbox/index.js';
import { randomHid } from '../src/providers/oen/hid.js';
import { newWebhookSecret } from './helpers/api.js';
import { commandArgs, healthcheckTest, loadCompose, parseDockerfile, parseDotEnv, stages, type Env } from './helpers/compose.js';
import { carryOutStage, type BuiltStage } from './helpers/image.js';
import { freePorts } from './helpers/ports.js';
import { run, type RunningProcess } from './helpers/process.js';
import { admin } from './helpers/sandbox.js';
import { temporalTestContext, type TemporalTestContext } from './helpers/temporal.js';
import { throughInboxAt } from './helpers/inbox.js';

/**
 * The image, proved without a Docker engine (CI has none): the Dockerfile's stages carried out here,
 * each in a temp dir standing for its /app (test/helpers/image.ts) — the build stage's COPYs and its
 * `npm run build` for real; the runtime stage's COPYs from it and its `npm ci --omit=dev` as links to
 * the lockfile's production packages only. Then the commands docker-compose.yml gives the app
 * services run there with plain node, the runtime stage's ENV, and an empty HOME and bundle cache.
 * One build for the whole file.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const compose = loadCompose(read('docker-compose.yml'), parseDotEnv(read('.env.example')));
const APP_SERVICES = ['codec-server', 'worker', 'reconcile-schedule', 'api', 'sandbox'];
const packageJson = JSON.parse(read('package.json')) as { version: string; dependencies: Record<string, string> };

const scratch = mkdtempSync(join(tmpdir(), 'refundflow-image-'));
let build: BuiltStage;
let image: BuiltStage;
let temporal: TemporalTestContext;
/** The image's files as the build left them. */
let built: string[];
const started: RunningProcess[] = [];

beforeAll(async () => {
  const [buildStage, runtimeStage] = stages(parseDockerfile(read('Dockerfile')));
  if (!buildStage?.name || !runtimeStage) throw new Error('the Dockerfile has no build stage and runtime stage');
  build = await carryOutStage(buildStage, { context: root, dir: join(scratch, 'build'), earlier: {} });
  image = await carryOutStage(runtimeStage, { context: root, dir: join(scratch, 'image'), earlier: { [buildStage.name]: build } });
  built = files(image.dir);
  temporal = await temporalTestContext('image');
}, 300_000);

afterAll(async () => {
  for (const child of started) child.signalGroup('SIGKILL');
  await temporal?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** A command of the image, run as its container would run it: in /app, with the image's ENV and no cache. */
function inImage(args: string[], env: Env, dir = image.dir): RunningProcess {
  const [command, ...rest] = args;
  if (command !== 'node') throw new Error(`not a node command: ${args.join(' ')}`);
  const home = mkdtempSync(join(scratch, 'home-'));
  const child = run(process.execPath, rest, { PATH: process.env.PATH, HOME: home, REFUNDFLOW_CACHE_DIR: join(home, 'cache'), ...image.env, ...env }, dir);
  started.push(child);
  return child;
}

function serviceCommand(name: string): string[] {
  const args = commandArgs(compose.services[name] ?? {});
  if (!args) throw new Error(`${name} has no command`);
  return args;
}

/** Runs a service's compose health check in the image, in the environment the service was given; its exit code. */
async function healthCheck(name: string, env: Env): Promise<number | string> {
  const test = healthcheckTest(compose.services[name] ?? {}) ?? [];
  if (test[0] !== 'CMD') throw new Error(`${name}'s health check is not in the exec form`);
  return inImage(test.slice(1), env).exited;
}

const payloadKeys = `k1:${randomBytes(32).toString('base64')}`;

/** The worker's environment: this file's task queue on the suite's dev server, a PGlite ledger, providers at `sandbox`. */
function workerEnv(sandboxPorts: [number, number], extra: Env = {}): Env {
  return {
    TEMPORAL_ADDRESS: temporal.address,
    REFUNDS_TASK_QUEUE: temporal.taskQueue,
    DATA_DIR: mkdtempSync(join(scratch, 'data-')),
    METRICS_ADDRESS: 'off',
    OEN_BASE_URL: `http://127.0.0.1:${sandboxPorts[0]}`,
    OEN_TOKEN: SANDBOX_TOKEN,
    OEN_MERCHANT_ID: SANDBOX_OEN_MERCHANT_ID,
    MWD_BASE_URL: `http://127.0.0.1:${sandboxPorts[1]}`,
    MWD_TOKEN: SANDBOX_TOKEN,
    ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,MWD_BASE_URL',
    ...extra,
  };
}

const BUNDLE_LINE = /Workflow bundle (\S+) \(built with this code by npm run build\)/;
const POLLING = () => new RegExp(`Worker polling task queue ${temporal.taskQueue} `);

describe('the image, built as the Dockerfile builds it', () => {
  let sandboxPorts: [number, number];

  it('holds what the runtime stage copies and nothing else: the build, the CLI, the manifests, production dependencies', () => {
    expect(readdirSync(image.dir).sort()).toEqual(['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    const dist = files(join(image.dir, 'dist'));
    expect(dist.filter((file) => !/\.(js|cjs)$/.test(file))).toEqual([]);
    expect(dist.filter((file) => file.startsWith('workflow-bundles/'))).toHaveLength(2);
    expect(readdirSync(join(image.dir, 'node_modules'))).not.toContain('tsx');
    expect(readdirSync(join(image.dir, 'node_modules'))).not.toContain('typescript');
    expect(image.env.NODE_ENV).toBe('production');
  });

  it('has the file each app service of docker-compose.yml and the CMD run', () => {
    const commands = [...APP_SERVICES.map(serviceCommand), image.cmd ?? []];
    const scripts = commands.map((args) => args.slice(1).find((arg) => !arg.startsWith('-')) ?? '');
    expect(scripts.filter((script) => !built.includes(script))).toEqual([]);
  });

  it('imports, in its compiled code, only Node built-ins, production dependencies and its own files', () => {
    const allowed = new Set([...builtinModules, ...Object.keys(packageJson.dependencies)]);
    const imported = files(join(image.dir, 'dist'))
      .filter((file) => !file.startsWith('workflow-bundles/'))
      .flatMap((file) => {
        const code = readFileSync(join(image.dir, 'dist', file), 'utf8');
        return [...code.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map((m) => ({
          file,
          specifier: m[1] ?? '',
        }));
      })
      .filter(({ specifier }) => !specifier.startsWith('.') && !specifier.startsWith('node:'));
    expect(imported.length).toBeGreaterThan(0);
    const packageOf = (specifier: string) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/');
    expect(imported.filter(({ specifier }) => !allowed.has(packageOf(specifier)))).toEqual([]);
  });

  it('starts the sandbox, the API and the codec server with their compose commands: their compose health checks pass', async () => {
    const [oenPort, mwdPort, apiPort, codecPort] = await freePorts(4);
    sandboxPorts = [oenPort as number, mwdPort as number];
    const envs: Record<string, Env> = {
      sandbox: { SANDBOX_HOST: '127.0.0.1', SANDBOX_OEN_PORT: String(oenPort), SANDBOX_MWD_PORT: String(mwdPort) },
      api: {
        TEMPORAL_ADDRESS: temporal.address,
        REFUNDS_TASK_QUEUE: temporal.taskQueue,
        DATA_DIR: mkdtempSync(join(scratch, 'data-')),
        PORT: String(apiPort),
        INGEST_WEBHOOK_SECRET: newWebhookSecret(),
        PAYLOAD_ENCRYPTION_KEYS: payloadKeys,
      },
      'codec-server': { PAYLOAD_ENCRYPTION_KEYS: payloadKeys, CODEC_SERVER_TOKEN: randomBytes(16).toString('hex'), CODEC_SERVER_PORT: String(codecPort) },
    };
    const ready = { sandbox: /Press Ctrl-C to stop/, api: /API listening/, 'codec-server': /Codec server on/ };
    await Promise.all(Object.entries(ready).map(([name, line]) => inImage(serviceCommand(name), envs[name] ?? {}).waitForOutput(line, 60_000)));
    for (const name of Object.keys(ready)) expect(await healthCheck(name, envs[name] ?? {}), name).toBe(0);
  }, 90_000);

  it('runs the worker with its compose command and payload keys: it loads the bundle built with its code, polls without bundling, and refunds', async () => {
    const [metricsPort] = await freePorts(1);
    const env = workerEnv(sandboxPorts, { PAYLOAD_ENCRYPTION_KEYS: payloadKeys, METRICS_ADDRESS: `127.0.0.1:${metricsPort}` });
    const oenUrl = `http://127.0.0.1:${sandboxPorts[0]}`;
    const transactionHid = randomHid();
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    await admin(oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount: 1000 }] });
    const request = { refundId: `RF-${randomUUID()}`, provider: 'oen' as const, orderId, transactionHid, amount: 1000 };
    // Accepted, as the intake accepts it, before the worker opens its embedded ledger (one process's at a time).
    if (env.DATA_DIR === undefined) throw new Error('workerEnv names no DATA_DIR');
    await throughInboxAt(env.DATA_DIR, request);
    const worker = inImage(serviceCommand('worker'), env);
    try {
      await worker.waitForOutput(POLLING(), 60_000);
      const loaded = BUNDLE_LINE.exec(worker.output())?.[1] ?? '';
      expect(built).toContain(relative(image.dir, loaded));
      expect(worker.output()).not.toContain('Building the workflow bundle');
      expect(await healthCheck('worker', env)).toBe(0);

      const client = new Client({ connection: temporal.client.connection, dataConverter: clientDataConverter({ PAYLOAD_ENCRYPTION_KEYS: payloadKeys }) });
      const refund = await startRefund(client, temporal.taskQueue, request);
      if (refund.kind !== 'started') throw new Error(JSON.stringify(refund));
      expect(await client.workflow.getHandle(refund.workflowId).result()).toMatchObject({ status: 'succeeded' });
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }
    expect(worker.output()).not.toContain('Building the workflow bundle');
  }, 120_000);

  it('replays the recorded histories on the bundle without the failure converter, the one its compiled code names', async () => {
    const naming = inImage(
      [
        'node',
        '--input-type=module',
        '-e',
        "const b = await import('./dist/workflow-bundle.js'); console.log(`${b.prebuiltBundleDir}/${b.bundleFileName(b.bundleKey(false))}`)",
      ],
      {},
    );
    expect(await naming.exited).toBe(0);
    const plainBundle = naming.output().trim();
    expect(built).toContain(relative(image.dir, plainBundle));
    const dir = join(root, 'test/histories');
    const histories = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => ({ workflowId: name, history: historyFromJSON(JSON.parse(readFileSync(join(dir, name), 'utf8'))) }));
    const failed: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: plainBundle } }, histories)) {
      if (result.error) failed.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failed).toEqual([]);
  });

  it("refuses to start on a bundle that is not its code's, or none, and builds none", async () => {
    const copy = join(scratch, 'changed');
    cpSync(image.dir, copy, { recursive: true, verbatimSymlinks: true });
    appendFileSync(join(copy, 'dist/workflows/refund.js'), '\n// changed after the build\n');
    const stale = inImage(serviceCommand('worker'), workerEnv(sandboxPorts), copy);
    expect(await stale.exited).toBe(1);
    expect(stale.output()).toMatch(
      /Worker failed: The workflow bundles in .* were not built from this code: .*run npm run build again rather than run stale workflow code/,
    );
    rmSync(join(copy, 'dist/workflow-bundles'), { recursive: true });
    const none = inImage(serviceCommand('worker'), workerEnv(sandboxPorts), copy);
    expect(await none.exited).toBe(1);
    expect(none.output()).toMatch(/Worker failed: No workflow bundle in .*: the compiled worker does not bundle its workflows/);
    expect(stale.output() + none.output()).not.toContain('Building the workflow bundle');
  });

  it("runs the CLI without tsx: --version through bin/refundflow.mjs and npx, and the reconcile-schedule job's command", async () => {
    const version = inImage(['node', 'bin/refundflow.mjs', '--version'], {});
    expect(await version.exited).toBe(0);
    expect(version.output().trim()).toBe(packageJson.version);

    const npx = run(
      'npx',
      ['refundflow', '--version'],
      { PATH: process.env.PATH, HOME: mkdtempSync(join(scratch, 'home-')), ...image.env, npm_config_offline: 'true' },
      image.dir,
    );
    expect(await npx.exited).toBe(0);
    expect(npx.output().trim().split('\n').at(-1)).toBe(packageJson.version);

    const job = inImage(serviceCommand('reconcile-schedule'), {
      TEMPORAL_ADDRESS: temporal.address,
      REFUNDS_TASK_QUEUE: temporal.taskQueue,
      RECONCILE_INTERVAL_SECONDS: '900',
    });
    expect(await job.exited).toBe(0);
    const schedule = temporal.client.schedule.getHandle(reconcileScheduleId(temporal.taskQueue));
    expect((await schedule.describe()).scheduleId).toBe(reconcileScheduleId(temporal.taskQueue));
    await schedule.delete();
  });

  it('wrote nothing beside its code while it ran: its files are read-only to the user the image runs as', () => {
    expect(files(image.dir)).toEqual(built);
  });
});
