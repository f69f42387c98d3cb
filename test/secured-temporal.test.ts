import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../src/cli/exit-codes.js';
import { temporalConnection, type Env } from '../src/wiring/temporal-connection.js';
import { makeTestPki, type TestPki } from './helpers/certificates.js';
import { run } from './helpers/process.js';
import { startTlsGrpcServer, type TlsGrpcServer } from './helpers/tls-grpc-server.js';

/**
 * Temporal's connection settings as the engine's processes use them (src/wiring/temporal-connection.ts):
 * both SDK connection kinds, and the worker and the CLI as processes, against a TLS endpoint that
 * records the handshake and each call; and every entry point refusing a bad setting with one line.
 * A Temporal cluster with TLS on is not part of this file.
 */

const API_KEY = 'tk_test_c2VjdXJlZC10ZW1wb3JhbC1hcGkta2V5LXNlY3JldA';
const exec = promisify(execFile);

let pki: TestPki;
let server: TlsGrpcServer;

beforeAll(async () => {
  pki = makeTestPki();
  server = await startTlsGrpcServer(pki);
});
afterAll(async () => {
  await server?.close();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

/** The test runner's environment without any TEMPORAL_* setting of its own. */
function cleanEnv(extra: Env): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries({ ...process.env, ...extra }).filter(([name, value]) => value !== undefined && (!name.startsWith('TEMPORAL_') || name in extra)),
  );
  return env;
}

const trusting = (): Env => ({ TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, TEMPORAL_TLS_SERVER_NAME: 'temporal.test' });
const mutual = (): Env => ({ ...trusting(), TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey });

/** The calls the server saw after `since` calls. */
const callsSince = (since: number) => server.calls.slice(since);

describe('connecting with the settings: what the server sees', () => {
  it("Connection (the API, npm start's client, the CLI): the client certificate, the CA trusted, the server name asked for", async () => {
    const since = server.calls.length;
    const connection = await Connection.connect({ ...temporalConnection(mutual()).connectionOptions, connectTimeout: 15_000 });
    await connection.close();
    expect(callsSince(since)[0]).toMatchObject({
      path: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      serverName: 'temporal.test',
      clientAuthorized: true,
      clientName: pki.clientName,
    });
  });

  it('NativeConnection (the worker): the same', async () => {
    const since = server.calls.length;
    const connection = await NativeConnection.connect(temporalConnection(mutual()).nativeConnectionOptions);
    await connection.close();
    expect(callsSince(since)[0]).toMatchObject({ serverName: 'temporal.test', clientAuthorized: true, clientName: pki.clientName });
  });

  it('an API key: a bearer token over TLS, beside the TEMPORAL_GRPC_META_* headers, on both kinds', async () => {
    const env = { ...trusting(), TEMPORAL_API_KEY: API_KEY, TEMPORAL_GRPC_META_X_TENANT: 'refunds' };
    const since = server.calls.length;
    await (await Connection.connect({ ...temporalConnection(env).connectionOptions, connectTimeout: 15_000 })).close();
    await (await NativeConnection.connect(temporalConnection(env).nativeConnectionOptions)).close();
    const calls = callsSince(since);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      expect(call.headers).toMatchObject({ authorization: `Bearer ${API_KEY}`, 'x-tenant': 'refunds' });
      expect(call.clientName).toBeUndefined();
    }
  });

  it('without the server CA, neither kind trusts the server: no call reaches it', async () => {
    const env = { TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'temporal.test' };
    const since = server.calls.length;
    await expect(Connection.connect({ ...temporalConnection(env).connectionOptions, connectTimeout: 3_000 })).rejects.toThrow();
    await expect(NativeConnection.connect(temporalConnection(env).nativeConnectionOptions)).rejects.toThrow();
    expect(callsSince(since)).toEqual([]);
    expect(server.handshakeFailures()).toBeGreaterThan(0);
  });
});

describe('the processes connect with the settings', () => {
  it('a worker process presents its client certificate, and logs the way without a secret', async () => {
    const since = server.calls.length;
    const key = pki.read(pki.clientKey);
    const worker = run(
      process.execPath,
      ['--import', 'tsx', 'src/worker.ts'],
      cleanEnv({
        ...mutual(),
        TEMPORAL_TLS_CLIENT_KEY_PATH: undefined,
        TEMPORAL_TLS_CLIENT_KEY_DATA: key,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'refundflow-worker-')),
        METRICS_ADDRESS: 'off',
      }),
    );
    try {
      await expect.poll(() => callsSince(since).find((call) => call.clientName === pki.clientName), { timeout: 90_000 }).toBeDefined();
      expect(worker.output()).toContain(`Connecting to Temporal at ${server.address} (namespace default; TLS with client certificate)`);
      for (const line of key.split('\n').filter((l) => l && !l.startsWith('-----'))) expect(worker.output()).not.toContain(line);
    } finally {
      worker.signalGroup('SIGKILL');
      await worker.exited;
    }
  }, 120_000);

  it('refundflow schedule install sends the API key, and never prints it', async () => {
    const since = server.calls.length;
    const failed = await exec(process.execPath, ['bin/refundflow.mjs', 'schedule', 'install'], {
      env: cleanEnv({ ...trusting(), TEMPORAL_API_KEY: API_KEY }),
    }).then(
      () => undefined,
      (err: unknown) => err as { code: number; stdout: string; stderr: string },
    );
    // The endpoint answers every call UNIMPLEMENTED: connecting works, creating the schedule does not.
    expect(failed).toBeDefined();
    expect(`${failed?.stdout}${failed?.stderr}`).not.toContain(API_KEY);
    expect(callsSince(since).some((call) => call.headers.authorization === `Bearer ${API_KEY}` && call.path.endsWith('/GetSystemInfo'))).toBe(true);
  });
});

describe('a bad setting stops each entry point with one line naming the variable', () => {
  const entryPoints = [
    { name: 'the worker (npm run worker)', args: ['--import', 'tsx', 'src/worker.ts'], exitCode: 1, extraEnv: {} },
    {
      name: 'the API (npm run api)',
      args: ['--import', 'tsx', 'src/api/main.ts'],
      exitCode: 1,
      extraEnv: { INGEST_WEBHOOK_SECRET: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' },
    },
    { name: 'npm start, before it starts anything', args: ['--import', 'tsx', 'scripts/start.ts'], exitCode: 1, extraEnv: {} },
    { name: 'refundflow schedule install (a usage error)', args: ['bin/refundflow.mjs', 'schedule', 'install'], exitCode: exitCodes.usage.code, extraEnv: {} },
  ];
  const settings: Array<{ what: string; env: () => Env; says: RegExp }> = [
    {
      what: 'a client certificate without its key',
      env: () => ({ TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert }),
      says: /TEMPORAL_TLS_CLIENT_CERT_PATH gives a client certificate without its key/,
    },
    { what: 'an API key without TEMPORAL_ADDRESS', env: () => ({ TEMPORAL_API_KEY: API_KEY }), says: /TEMPORAL_ADDRESS is required with TEMPORAL_API_KEY/ },
  ];
  const cases = entryPoints.flatMap((entry) => settings.map((setting) => ({ ...entry, ...setting })));

  it.each(cases)('$name: $what', async ({ args, exitCode, extraEnv, env, says }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'refundflow-bad-tls-'));
    const failed = await exec(process.execPath, args, { env: cleanEnv({ ...extraEnv, ...env(), DATA_DIR: dataDir, METRICS_ADDRESS: 'off' }) }).then(
      () => undefined,
      (err: unknown) => err as { code: number; stdout: string; stderr: string },
    );
    expect(failed?.code).toBe(exitCode);
    expect(failed?.stdout).toBe('');
    const lines = failed?.stderr.trimEnd().split('\n') ?? [];
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Invalid configuration: /);
    expect(lines[0]).toMatch(says);
    expect(lines[0]).not.toContain(API_KEY);
  });
});
