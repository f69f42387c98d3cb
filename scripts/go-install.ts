/**
 * `go install` of pinned Go modules into refundflow's cache outside the clone, with progress: how
 * the Temporal CLI (scripts/temporal-cli.ts) and the cluster's server, SQL tool and UI server
 * (scripts/cluster/binaries.ts) are built, once per machine. No Temporal binary can be downloaded on
 * our machines; Go and its module proxy can be reached.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export { cacheDir } from './cache-dir.mjs';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

export interface GoInstallOptions {
  go: string;
  /** `module/cmd/x@vX.Y.Z` paths; all are installed in one `go install`. */
  packages: string[];
  /** The binaries that build makes, by their `go install` name → the name to keep them under in `targetDir`. */
  binaries: Record<string, string>;
  targetDir: string;
  ldflags?: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Makes the error thrown when the build fails. */
  fail: (message: string) => Error;
}

/**
 * Builds `packages` into a private folder and then moves each binary into `targetDir` in one step,
 * so a build cut short never leaves a broken binary where the next run would take it. Prints how far
 * it is every 20 seconds.
 */
export async function goInstall({ go, packages, binaries, targetDir, ldflags, env, log, fail }: GoInstallOptions): Promise<void> {
  mkdirSync(targetDir, { recursive: true });
  const buildDir = join(targetDir, `.build-${process.pid}`);
  mkdirSync(buildDir, { recursive: true });
  const started = Date.now();
  let packagesBuilt = 0;
  let latest = '';
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    log(`  … ${seconds}s, ${packagesBuilt} packages built${latest ? `, now ${latest}` : ''}`);
  }, 20_000);
  try {
    await new Promise<void>((resolve, reject) => {
      // `go install pkg@version` ignores any go.mod around it; running it in the cache keeps the
      // clone untouched.
      const args = ['install', '-v', ...(ldflags ? ['-ldflags', ldflags] : []), ...packages];
      const child = spawn(go, args, {
        cwd: buildDir,
        env: { ...env, GOBIN: buildDir, CGO_ENABLED: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const tail: string[] = [];
      let pending = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('go: ')) {
            packagesBuilt += 1;
            latest = line;
          }
          tail.push(line);
          if (tail.length > 20) tail.shift();
        }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(fail(`go install ${packages.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`));
      });
    });
    for (const [built, kept] of Object.entries(binaries)) renameSync(join(buildDir, built), join(targetDir, kept));
  } finally {
    clearInterval(ticker);
    rmSync(buildDir, { recursive: true, force: true });
  }
}

/** Seconds since `started`, for "built in Ns" lines. */
export function secondsSince(started: number): number {
  return Math.round((Date.now() - started) / 1000);
}
