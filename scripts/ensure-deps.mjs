// Runs before `npm start` and `npm test` (their pre-scripts): installs the npm dependencies when
// node_modules is missing or older than package-lock.json, so both commands work on a fresh clone.
// Plain Node with no dependencies, since it runs before any are there.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const installed = 'node_modules/.package-lock.json';
const upToDate = existsSync(installed) && statSync(installed).mtimeMs >= statSync('package-lock.json').mtimeMs;

if (!upToDate) {
  console.log('Installing npm dependencies (npm ci)…');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`npm ci failed (exit ${result.status ?? result.signal}); see the output above.`);
    process.exit(1);
  }
}
