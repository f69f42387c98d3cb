import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const thisFile = fileURLToPath(import.meta.url);
/** The engine's code: src/ when it runs from source (through tsx), dist/ when compiled (npm run build). */
const codeDir = dirname(thisFile);
/** The project's folder, the parent of both. */
const root = dirname(codeDir);

/** Whether this is the compiled JavaScript (the image, `node dist/worker.js`) rather than the TypeScript source. */
export const compiledCode = thisFile.endsWith('.js');

/** Where `npm run build` puts the compiled code's bundles: beside that code, in dist/workflow-bundles/. */
export const prebuiltBundleDir = join(codeDir, 'workflow-bundles');

/** Where bundles built for the source are kept: outside the clone, beside the Temporal CLI's cache. */
export function bundleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.REFUNDFLOW_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'refundflow'), 'workflow-bundles');
}

/** A bundle's file: its key is its name, in the cache and beside the compiled code alike. */
export function bundleFileName(key: string): string {
  return `workflows-${key}.js`;
}

function codeFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (path === prebuiltBundleDir) return [];
      return statSync(path).isDirectory() ? codeFiles(path) : [path];
    })
    .sort();
}

/**
 * A key for the bundle that changes with any file of the code it is built from and run with (src/,
 * or dist/ without the bundles kept there), the locked dependencies (the SDK's workflow runtime is
 * in the bundle), and whether the failure converter is in it. A stale bundle would run old workflow
 * code, so the key errs on the side of a new bundle (from source) or a refusal (compiled).
 */
export function bundleKey(withFailureConverter: boolean): string {
  const hash = createHash('sha256');
  for (const file of [...codeFiles(codeDir), join(root, 'package-lock.json')]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  hash.update(withFailureConverter ? 'failure-converter' : 'plain');
  return hash.digest('hex').slice(0, 24);
}

/** A bundle that is not there, or not this code's: the worker stops rather than bundle or run it. */
export class WorkflowBundleError extends Error {
  override readonly name = 'WorkflowBundleError';
}

/**
 * The workflow bundle for this code, for a worker's `workflowBundle: { codePath }`. The worker
 * (src/worker.ts) and `npm start` call this as they start, before the worker polls. With
 * PAYLOAD_ENCRYPTION_KEYS the bundle carries the failure converter: another key, another file.
 *
 * Compiled (`npm run build`; the image): the bundle built ahead of time beside the compiled code.
 * `npm run build` compiles src/ to dist/, then bundles that compiled code, with and without the
 * failure converter, into dist/workflow-bundles/ (src/build-workflows.ts); the Dockerfile's build
 * stage runs it, so a container's worker polls without bundling anything. The compiled worker never
 * bundles: when dist/ holds no bundle whose key is this code's — the code was compiled again after
 * it was bundled, or the bundles come from another build — it refuses to start (WorkflowBundleError)
 * rather than run workflow code older or newer than the activities and the rest beside it.
 *
 * From source (tsx: `npm run worker`, `npm start`, the tests): the bundle in the cache
 * (`bundleCacheDir`) for this source (`bundleKey`), built there first when missing, in a child
 * process (src/build-workflows.ts), so the bundler's seconds of CPU and few hundred MB are never the
 * worker's own memory. Later starts with the same source on the same machine reuse it; the first
 * start after a change to src/ or the lockfile builds it. Two processes that start at once may both
 * build it; either copy is the same code.
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
  const key = bundleKey(withFailureConverter);
  if (compiledCode) {
    const codePath = bundleBuiltWithCode(key, withFailureConverter);
    log(`Workflow bundle ${codePath} (built with this code by npm run build)`);
    return { codePath };
  }
  return bundleInCache(key, withFailureConverter, log, env);
}

function bundleBuiltWithCode(key: string, withFailureConverter: boolean): string {
  const codePath = join(prebuiltBundleDir, bundleFileName(key));
  if (existsSync(codePath)) return codePath;
  const found = existsSync(prebuiltBundleDir) ? readdirSync(prebuiltBundleDir).filter((name) => /^workflows-\w+\.js$/.test(name)) : [];
  const variant = withFailureConverter ? 'with the failure converter (PAYLOAD_ENCRYPTION_KEYS is set)' : 'without the failure converter';
  if (found.length === 0) {
    throw new WorkflowBundleError(
      `No workflow bundle in ${prebuiltBundleDir}: the compiled worker does not bundle its workflows; npm run build builds the bundles beside the compiled code`,
    );
  }
  throw new WorkflowBundleError(
    `The workflow bundles in ${prebuiltBundleDir} (${found.join(', ')}) were not built from this code: this code's bundle ${variant} would be ` +
      `${bundleFileName(key)}. The compiled code or package-lock.json changed after the bundling; run npm run build again rather than run stale workflow code`,
  );
}

async function bundleInCache(key: string, withFailureConverter: boolean, log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<{ codePath: string }> {
  const dir = bundleCacheDir(env);
  const codePath = join(dir, bundleFileName(key));
  if (existsSync(codePath)) return { codePath };
  mkdirSync(dir, { recursive: true });
  const partial = `${codePath}.${process.pid}.partial`;
  log(`Building the workflow bundle into ${codePath} (once for this source)`);
  const args = ['--import', 'tsx', join(codeDir, 'build-workflows.ts'), partial, ...(withFailureConverter ? ['--failure-converter'] : [])];
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
