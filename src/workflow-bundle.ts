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
 * The workflow bundle for this source, built once and reused by every later start (a worker no
 * longer bundles at start: that took seconds and a few hundred MB of the worker's memory). It is
 * built by a child process (scripts/build-workflows.ts), so the bundler's memory is never the
 * worker's. With PAYLOAD_ENCRYPTION_KEYS the bundle carries the failure converter.
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
