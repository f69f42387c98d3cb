/**
 * The embedded Temporal dev server of `npm start`: the pinned CLI, state in a SQLite file under the
 * data directory (WAL mode), the Web UI, and the refund search attributes registered up front.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { refundSearchAttributes } from '../src/domain/search-attributes.js';
import { tieChild } from './watchdog.js';

const cliTypeNames: Partial<Record<SearchAttributeType, string>> = { KEYWORD: 'Keyword', INT: 'Int' };

export function searchAttributeArgs(): string[] {
  return refundSearchAttributes.flatMap((key) => {
    const type = cliTypeNames[key.type];
    if (!type) throw new Error(`No dev-server type name for search attribute ${key.name} (${key.type})`);
    return ['--search-attribute', `${key.name}=${type}`];
  });
}

export interface DevServerOptions {
  cliPath: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** The codec server the Web UI asks to decode payloads, as the browser reaches it. */
  codecEndpoint?: string;
}

export function devServerArgs({ dataDir, port, uiPort, namespace, codecEndpoint }: Omit<DevServerOptions, 'cliPath'>): string[] {
  return [
    'server',
    'start-dev',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    namespace,
    '--db-filename',
    join(dataDir, 'temporal.db'),
    '--sqlite-pragma',
    'journal_mode=wal',
    '--log-level',
    'warn',
    ...searchAttributeArgs(),
    ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : []),
  ];
}

export interface RunningDevServer {
  address: string;
  uiUrl: string;
  logFile: string;
  pid: number;
  stop(): Promise<void>;
}

export class DevServerError extends Error {
  override readonly name = 'DevServerError';
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** Signals the server's whole process group; one that is already gone is no error. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A dev server left behind by a run that was killed hard is ours to stop, not a port clash to report. */
function stopLeftover(pidFile: string, log: (line: string) => void): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('start-dev')) return;
  log(`Stopping a Temporal dev server an earlier run left behind (pid ${pid})`);
  signalGroup(pid, 'SIGKILL');
}

async function waitUntilReady(child: ChildProcess, address: string, uiUrl: string, namespace: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== undefined) {
      throw new DevServerError(`The Temporal dev server exited (code ${exited}) while starting; see ${logFile}`);
    }
    if (Date.now() > deadline) throw new DevServerError(`The Temporal dev server did not become ready in 60s; see ${logFile}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } finally {
        await connection.close();
      }
      const ui = await fetch(uiUrl);
      if (ui.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function startDevServer(options: DevServerOptions, log: (line: string) => void): Promise<RunningDevServer> {
  const { cliPath, dataDir, port, uiPort, namespace } = options;
  mkdirSync(dataDir, { recursive: true });
  const pidFile = join(dataDir, 'temporal-dev.pid');
  const logFile = join(dataDir, 'temporal-dev.log');
  stopLeftover(pidFile, log);

  for (const [name, value] of [
    ['TEMPORAL_DEV_PORT', port],
    ['TEMPORAL_UI_PORT', uiPort],
  ] as const) {
    if (!(await portIsFree(value))) {
      throw new DevServerError(
        `Port ${value} (${name}) is already in use. If a Temporal server runs there, set TEMPORAL_ADDRESS to use it; ` +
          `otherwise set ${name} to a free port.`,
      );
    }
  }

  const logFd = openSync(logFile, 'a');
  // Its own process group: a terminal's Ctrl-C reaches only us, so we can stop the worker first and
  // the server after it, rather than both at once.
  const child = spawn(cliPath, devServerArgs(options), { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new DevServerError(`Could not start ${cliPath}`);
  writeFileSync(pidFile, String(pid));
  const killOnExit = () => signalGroup(pid, 'SIGKILL');
  process.once('exit', killOnExit);
  // And when this process is killed without an 'exit' (SIGKILL, or a signal no handler takes).
  tieChild(child);

  const address = `localhost:${port}`;
  const uiUrl = `http://localhost:${uiPort}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(pidFile, { force: true });
  };

  try {
    await waitUntilReady(child, address, uiUrl, namespace, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl, logFile, pid, stop };
}
