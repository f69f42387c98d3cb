import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Where built bundles are kept: outside the clone, beside the Temporal CLI's cache. */
export function bundleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.REFUNDFLOW_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'refundflow'), 'workflow-bundles');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : [path];
    })
    .sort();
}

/**
 * A key for the bundle that changes with any source file of the engine, the locked dependencies
 * (the SDK's workflow runtime is in the bundle), and whether the failure converter is in it. A stale
 * bundle would run old workflow code, so the key errs on rebuilding.
 */
export function bundleKey(withFailureConverter: boolean): string {
  const hash = createHash('sha256');
  for (const file of [...sourceFiles(join(root, 'src')), join(root, 'package-lock.json')]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  hash.update(withFailureConverter ? 'failure-converter' : 'plain');
  return hash.digest('hex').slice(0, 24);
}

/**
 * The workflow bundle for this source, for a worker's `workflowBundle: { codePath }`. The worker
 * (src/worker.ts) and `npm start` call this as they start, before the worker polls: it returns the
 * bundle already in the cache (`bundleCacheDir`) for this source (`bundleKey`), and otherwise builds
 * it there first, in a child process (scripts/build-workflows.ts), so the bundler's seconds of CPU
 * and few hundred MB are never the worker's own memory. Later starts with the same source on the
 * same machine reuse it. Nothing builds it ahead of time — not `npm ci`, not the Dockerfile — so the
 * first start after a change to src/ or the lockfile builds it, and so does every new container
 * (its cache is its own ~/.cache; the compose file's worker healthcheck allows for that). Two
 * processes that start at once may both build it; either copy is the same code. With
 * PAYLOAD_ENCRYPTION_KEYS the bundle carries the failure converter.
 */
export async function prebuiltWorkflowBundle({
  withFailureConverter,
  log,
  env = process.env,
}: {
  withFailureConverter: boolean;
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}): Promise<{ codePath: string }> {
  const dir = bundleCacheDir(env);
  const codePath = join(dir, `workflows-${bundleKey(withFailureConverter)}.js`);
  if (existsSync(codePath)) return { codePath };
  mkdirSync(dir, { recursive: true });
  const partial = `${codePath}.${process.pid}.partial`;
  log(`Building the workflow bundle into ${codePath} (once for this source)`);
  const args = ['--import', 'tsx', join(root, 'scripts', 'build-workflows.ts'), partial, ...(withFailureConverter ? ['--failure-converter'] : [])];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`Building the workflow bundle failed (exit ${code}):\n${output.join('').trim()}`);
  // Another process may have finished the same bundle first: either copy is the same code.
  renameSync(partial, codePath);
  return { codePath };
}
