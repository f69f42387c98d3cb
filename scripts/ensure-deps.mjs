// Installs the npm dependencies (npm ci) when node_modules is missing or older than
// package-lock.json, so that every npm script and `npx refundflow` work on a fresh clone. Every script
// in package.json that needs the dependencies has a pre-script that runs this file
// (test/package-scripts.test.ts checks that none lacks one), and bin/refundflow.mjs calls
// `ensureDeps()` before it loads tsx.
//
// Plain Node with no dependencies, since it runs before any are there. When they are there it costs
// two stat calls. It writes only to stderr (npm ci's output included), so that a command whose
// stdout is read, such as `npx refundflow new-key` or `npm run --silent temporal:install`, prints
// nothing else there.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's folder, wherever this is run from. */
const root = fileURLToPath(new URL('..', import.meta.url));

/** True when node_modules was installed from the current package-lock.json. */
export function depsUpToDate(dir = root) {
  const installed = join(dir, 'node_modules', '.package-lock.json');
  return existsSync(installed) && statSync(installed).mtimeMs >= statSync(join(dir, 'package-lock.json')).mtimeMs;
}

/** Runs `npm ci` in the project's folder unless node_modules is up to date; exits the process if it fails. */
export function ensureDeps(dir = root) {
  if (depsUpToDate(dir)) return;
  console.error('Installing npm dependencies (npm ci)…');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    console.error(`npm ci failed (exit ${result.status ?? result.signal}); see the output above.`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps();
