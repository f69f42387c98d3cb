// Installs Debian packages for the test suite's pre-scripts (scripts/ensure-browser.mjs,
// scripts/ensure-prometheus.mjs): apt-get as root, or through passwordless sudo. Plain Node, no
// dependencies: it runs before `npm ci` may have.
import { spawnSync } from 'node:child_process';

export function asRoot(command, args) {
  const root = process.getuid?.() === 0;
  const result = root ? spawnSync(command, args, { stdio: 'inherit' }) : spawnSync('sudo', ['-n', command, ...args], { stdio: 'inherit' });
  return result.status === 0;
}

/** `apt-get update`, then installs `packages` without their recommendations; true when both succeeded. */
export function aptInstall(packages) {
  const env = ['DEBIAN_FRONTEND=noninteractive'];
  return (
    asRoot('env', [...env, 'apt-get', 'update', '-q']) && asRoot('env', [...env, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages])
  );
}
