// Runs before `npm test` (its pre-script): the browser test drives Debian's Chromium through
// playwright-core, so install the `chromium` package when /usr/bin/chromium is missing. Once per
// machine; needs root (or sudo) and the Debian package mirror.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function run(command, args) {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot ? spawnSync(command, args, { stdio: 'inherit' }) : spawnSync('sudo', ['-n', command, ...args], { stdio: 'inherit' });
  return result.status === 0;
}

if (!existsSync(CHROMIUM)) {
  console.log('Installing Chromium for the browser test (apt-get install chromium; once per machine)…');
  const env = ['DEBIAN_FRONTEND=noninteractive'];
  const ok =
    run('env', [...env, 'apt-get', 'update', '-q']) &&
    run('env', [...env, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', 'chromium', 'fonts-noto-cjk']);
  if (!ok || !existsSync(CHROMIUM)) {
    console.error(
      `Could not install Chromium (need root or passwordless sudo, and Debian's package mirror). ` +
        `Install the Debian package "chromium" yourself, or set CHROMIUM_PATH to a Chromium binary.`,
    );
    process.exit(1);
  }
}
