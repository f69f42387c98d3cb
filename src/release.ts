import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_ID } from './domain/schemas/deployments.js';
import { bundleKey } from './workflow-bundle.js';

/** The project's folder: the parent of src/ (from source) or dist/ (compiled). */
const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * The release a process runs, and the build id its worker polls under (Worker Versioning,
 * docs/engine.md "Releases"): the package's version and the commit, e.g. `0.1.0-3f9c2a1b7d4e`.
 *
 * - `WORKER_BUILD_ID` names it outright (a release pipeline's own id).
 * - Otherwise the commit: git's, in a checkout; `REFUNDFLOW_COMMIT` in the image (which has no .git:
 *   compose passes it as a build argument). A checkout whose code differs from its commit (src/ or
 *   the lockfile changed and not committed) adds `-modified-` and a hash of that code, so that two
 *   different uncommitted states never share a build id.
 * - With no commit at all, the hash of the code: `0.1.0-code-…`, never two codes under one id.
 */
export interface Release {
  version: string;
  /** The commit, when known (12 hex digits). */
  commit?: string;
  /** The code differs from the commit's (a checkout with uncommitted changes to src/ or the lockfile). */
  modified: boolean;
  buildId: string;
  /** Where the build id came from. */
  source: 'WORKER_BUILD_ID' | 'git' | 'REFUNDFLOW_COMMIT' | 'code';
}

function packageVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

function git(root: string, args: string[]): string | undefined {
  if (!existsSync(join(root, '.git'))) return undefined;
  try {
    return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The code's own hash (the workflow bundle's key without the failure converter), shortened. */
function codeHash(length: number): string {
  return bundleKey(false).slice(0, length);
}

let cached: Release | undefined;

/** This process's release, worked out once. */
export function currentRelease(env: NodeJS.ProcessEnv = process.env): Release {
  if (cached && env === process.env) return cached;
  const release = releaseAt(projectRoot, env);
  if (env === process.env) cached = release;
  return release;
}

/** The release of the project in `root` (a checkout, or an image's folder without .git). */
export function releaseAt(root: string, env: NodeJS.ProcessEnv): Release {
  const version = packageVersion(root);
  const head = git(root, ['rev-parse', 'HEAD']);
  const fromEnv = env.REFUNDFLOW_COMMIT?.trim();
  if (fromEnv && !/^[0-9a-f]{7,40}$/i.test(fromEnv))
    throw new Error(`REFUNDFLOW_COMMIT ${JSON.stringify(fromEnv)} is not a commit: 7 to 40 hex digits (git rev-parse HEAD)`);
  const commit = (head ?? (fromEnv === '' ? undefined : fromEnv))?.slice(0, 12);
  const modified = head !== undefined && (git(root, ['status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json']) ?? '') !== '';
  const given = env.WORKER_BUILD_ID?.trim();
  if (given) {
    if (!BUILD_ID.test(given)) throw new Error(`WORKER_BUILD_ID ${JSON.stringify(given)} may have only letters, digits and . _ + - (at most 255)`);
    return { version, ...(commit && { commit }), modified, buildId: given, source: 'WORKER_BUILD_ID' };
  }
  if (commit === undefined) return { version, modified: false, buildId: `${version}-code-${codeHash(12)}`, source: 'code' };
  const buildId = modified ? `${version}-${commit}-modified-${codeHash(8)}` : `${version}-${commit}`;
  return { version, commit, modified, buildId, source: head !== undefined ? 'git' : 'REFUNDFLOW_COMMIT' };
}

/** One line for start-up logs and banners. */
export function describeRelease(release: Release): string {
  const from = {
    WORKER_BUILD_ID: 'from WORKER_BUILD_ID',
    git: release.modified ? 'the checkout, with uncommitted changes to the code' : "the checkout's commit",
    REFUNDFLOW_COMMIT: 'from REFUNDFLOW_COMMIT',
    code: 'no commit known: the hash of the code',
  }[release.source];
  return `refundflow ${release.version}, build ${release.buildId} (${from})`;
}
