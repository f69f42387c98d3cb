// Gets a clone ready for its npm scripts and `npx refundflow`: the Node.js they run on, and the npm
// dependencies. Every script in package.json that needs the dependencies has a pre-script that runs
// this file (test/package-scripts.test.ts checks that none lacks one), and bin/refundflow.mjs calls
// `ensureDeps()` before it loads tsx.
//
// - Node: when the Node running this is older than package.json's "engines" allows, the pinned Node
//   (scripts/node-runtime.mjs, from the npm registry into the cache) is linked as
//   node_modules/.bin/node. npm puts node_modules/.bin first on PATH for every script it runs, so the
//   script after this pre-script, and whatever it starts by the name `node` (the bins of vitest,
//   eslint, tsc included), runs on that Node. When there is none to be had, one line says what to
//   install, and this exits non-zero.
// - Dependencies: `npm ci`, on that Node, when node_modules is missing or older than
//   package-lock.json.
//
// Plain Node with no dependencies, since it runs before any are there, on whatever Node the machine
// has. When all is in place it costs two stat calls and a read of package.json. It writes only to
// stderr (npm ci's output included), so that a command whose stdout is read, such as
// `npx refundflow new-key` or `npm run --silent temporal:install`, prints nothing else there.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeRuntimeError, nodeFor } from './node-runtime.mjs';

/** The project's folder, wherever this is run from. */
const root = fileURLToPath(new URL('..', import.meta.url));

/** True when node_modules was installed from the current package-lock.json. */
export function depsUpToDate(dir = root) {
  const installed = join(dir, 'node_modules', '.package-lock.json');
  return existsSync(installed) && statSync(installed).mtimeMs >= statSync(join(dir, 'package-lock.json')).mtimeMs;
}

/**
 * Makes `node` in `dir`'s npm scripts the one in `bin`: node_modules/.bin/node, a link to it. Left
 * alone when it already is, and when node_modules/.bin/node is a file some package put there.
 * True when it made or changed the link.
 */
export function linkNode(dir, bin) {
  const link = join(dir, 'node_modules', '.bin', 'node');
  const target = join(bin, 'node');
  const existing = lstatSync(link, { throwIfNoEntry: false });
  if (existing && (!existing.isSymbolicLink() || readlinkSync(link) === target)) return false;
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  // Made beside it and renamed over it: a script starting meanwhile finds the old link or the new one.
  const fresh = `${link}.${process.pid}`;
  rmSync(fresh, { force: true });
  symlinkSync(target, fresh);
  renameSync(fresh, link);
  return true;
}

/**
 * Readies `dir` (default: this project): the Node its scripts run on, then `npm ci` unless
 * node_modules is up to date. Exits the process with one line on stderr when either cannot be done.
 * Returns the bin folder of the Node the scripts now run on when it is not the one running this,
 * undefined when it is.
 */
export function ensureDeps(dir = root, { running = { version: process.version, execPath: process.execPath }, ...options } = {}) {
  let bin;
  try {
    bin = nodeFor(dir, { running, ...options });
  } catch (err) {
    if (!(err instanceof NodeRuntimeError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  if (!depsUpToDate(dir)) {
    console.error('Installing npm dependencies (npm ci)…');
    // npm, and the install scripts of the packages, on the Node the project runs on.
    const base = options.env ?? process.env;
    const env = bin ? { ...base, PATH: `${bin}${delimiter}${base.PATH ?? ''}` } : base;
    const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, env, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) {
      console.error(`npm ci failed (exit ${result.status ?? result.signal}); see the output above.`);
      process.exit(1);
    }
  }
  if (bin && linkNode(dir, bin)) {
    console.error(`Node ${running.version} is older than refundflow supports: its npm scripts run on the Node in ${bin} (linked as node_modules/.bin/node).`);
  }
  return bin;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps();
