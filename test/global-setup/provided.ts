import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import type { TestClusterInfo } from '../helpers/cluster.js';
import { workflowsPath } from '../../src/wiring/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The dev server's (test/global-setup/dev-server.ts; the engine project's files). */
    temporalAddress: string;
    temporalCliPath: string;
    /** Built once per run (test/global-setup/bundle.ts), shared by the engine and the cluster projects. */
    workflowBundlePath: string;
    /** The production-shaped cluster (test/helpers/cluster.ts, test/global-setup/cluster.ts): PostgreSQL, five hosts, mutual TLS, the UI server. */
    cluster: TestClusterInfo;
    /** Where the checks project's ESLint and type check leave their results (test/global-setup/checks.ts). */
    checksDir: string;
  }
}

interface SharedBundle {
  built: Promise<string>;
  users: number;
  dir: string;
}

/**
 * The projects' global setups run one after another in vitest's main process, each through its own
 * module runner: the bundle one run needs is kept on globalThis so that a run of both the engine and
 * the cluster projects builds it once, and removed when the last of them is torn down.
 */
const KEY = Symbol.for('refundflow.test.workflowBundle');
const holder = globalThis as { [KEY]?: SharedBundle };

/** Starts building this run's bundle, once; test/global-setup/bundle.ts waits for it. */
function build(): SharedBundle {
  let shared = holder[KEY];
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), 'refundflow-bundle-'));
    const built = bundleWorkflowCode({ workflowsPath, logger: quietLogger }).then(({ code }) => {
      const path = join(dir, 'workflows.js');
      writeFileSync(path, code);
      return path;
    });
    // Awaited by bundle.ts; a failure started early is reported there, not as an unhandled rejection.
    built.catch(() => undefined);
    shared = holder[KEY] = { built, users: 0, dir };
  }
  return shared;
}

/**
 * Starts the bundle's build now, when the project's global setups include bundle.ts: called first
 * by the setups that start a Temporal, so that the build runs while the server starts rather than
 * after it (a project's global setups run one after the other).
 */
export function prebuildBundleFor(project: TestProject): void {
  if ([project.config.globalSetup].flat().some((file) => file.endsWith('/global-setup/bundle.ts'))) build();
}

/** The workflow bundle's path for this run, building it if nothing started it; the returned release removes it after its last user. */
export async function sharedWorkflowBundle(): Promise<{ path: string; release(): void }> {
  const current = build();
  current.users += 1;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    current.users -= 1;
    if (current.users === 0) {
      rmSync(current.dir, { recursive: true, force: true });
      if (holder[KEY] === current) delete holder[KEY];
    }
  };
  try {
    return { path: await current.built, release };
  } catch (err) {
    release();
    throw err;
  }
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/**
 * The pids of this process's children whose command line (its arguments) `matches`: for a server
 * a library spawned without telling its pid (the SDK's dev server), to tie it to this process
 * (scripts/watchdog.ts). Linux's /proc.
 */
export function childPids(matches: (args: string[]) => boolean): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      // The parent's pid is the second field after the command's name, which is in parentheses.
      const ppid = Number(
        readFileSync(`/proc/${entry}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .split(' ')[1],
      );
      if (ppid !== process.pid) return [];
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return matches(args) ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}
