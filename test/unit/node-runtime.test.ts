import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureNodeRuntime,
  minimumNode,
  NODE_RUNTIME_VERSION,
  nodeFor,
  NodeRuntimeError,
  nodeVersionProblem,
  versionAtLeast,
} from '../../scripts/node-runtime.mjs';

/** Which Node the project runs on, and what it says on an older one (scripts/node-runtime.mjs); nothing here fetches a Node. */

const scratch = mkdtempSync(join(tmpdir(), 'refundflow-node-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** An empty cache: a lookup there finds no Node, and any install would be visible. */
const emptyCache = { ...process.env, REFUNDFLOW_CACHE_DIR: join(scratch, 'cache') };

/** A project folder whose package.json has `engines` (or none). */
function project(engines?: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'project-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', ...(engines && { engines }) }));
  return dir;
}

describe('the version check', () => {
  it('says what is needed, what runs and where, in one sentence; says nothing when the Node will do', () => {
    expect(nodeVersionProblem({ version: 'v20.20.2', execPath: '/usr/bin/node', minimum: '24.0.0' })).toBe(
      'refundflow needs Node.js 24 or newer (package.json "engines"), and this is Node v20.20.2 (/usr/bin/node).',
    );
    expect(nodeVersionProblem({ version: 'v22.22.0', execPath: '/opt/node/bin/node', minimum: '24.0.0' })).toMatch(
      /needs Node\.js 24 or newer.*Node v22\.22\.0 \(\/opt\/node\/bin\/node\)/,
    );
    // A minimum with a minor version is stated in full.
    expect(nodeVersionProblem({ version: 'v24.0.0', execPath: 'node', minimum: '24.1.0' })).toMatch(/needs Node\.js 24\.1\.0 or newer/);
    for (const version of ['v24.0.0', 'v24.22.3', 'v25.0.0', 'v26.12.1']) {
      expect(nodeVersionProblem({ version, execPath: 'node', minimum: '24.0.0' }), version).toBeUndefined();
    }
  });

  it('compares versions by number, not as text', () => {
    expect(versionAtLeast('v24.10.0', '24.9.0')).toBe(true);
    expect(versionAtLeast('v9.0.0', '24.0.0')).toBe(false);
    expect(versionAtLeast('100.0.0', '24.0.0')).toBe(true);
    expect(versionAtLeast('24.0.0', '24.0.0')).toBe(true);
    expect(() => versionAtLeast('latest', '24.0.0')).toThrow(NodeRuntimeError);
  });

  it("reads the minimum from package.json's engines.node (>=x[.y[.z]]), and refuses a range it cannot read", () => {
    expect(minimumNode(process.cwd())).toBe('24.0.0');
    expect(minimumNode(project({ node: '>= 24.1' }))).toBe('24.1.0');
    expect(minimumNode(project())).toBeUndefined();
    expect(() => minimumNode(project({ node: '^24 || ^26' }))).toThrow(/must be ">=x\.y\.z".*not "\^24 \|\| \^26"/);
  });
});

describe('the Node the project runs on', () => {
  const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
  const major = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

  it("is one line throughout: engines' minimum, the Node CI runs the suite on, and the image's", () => {
    const minimum = minimumNode(process.cwd()) ?? '';
    expect(packageJson.engines.node).toBe('>=24');
    expect(versionAtLeast(NODE_RUNTIME_VERSION, minimum)).toBe(true);
    expect(major(NODE_RUNTIME_VERSION)).toBe(major(minimum));
    const imageLine = /^ARG NODE_VERSION=(\d+)$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(Number(imageLine)).toBe(major(NODE_RUNTIME_VERSION));
    // An LTS line: the even majors.
    expect(major(NODE_RUNTIME_VERSION) % 2).toBe(0);
  });

  it('.ci/run puts that Node first on PATH before it installs or tests anything', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    const put = ci.search(/^export PATH="\$node_bin:\$PATH"$/m);
    expect(ci.search(/^node_bin="\$\(node scripts\/node-runtime\.mjs\)" \|\| exit 1$/m)).toBeGreaterThan(-1);
    expect(put).toBeGreaterThan(-1);
    expect(put).toBeLessThan(ci.search(/^npm ci /m));
    expect(put).toBeLessThan(ci.search(/^npm test$/m));
  });
});

describe('on a Node older than engines allows', () => {
  const old = { version: 'v20.19.0', execPath: '/usr/bin/node' };

  it('a Node that will do needs nothing: no lookup, no install', () => {
    expect(nodeFor(project({ node: '>=24' }), { running: { version: 'v24.0.0', execPath: 'node' }, env: emptyCache })).toBeUndefined();
    expect(nodeFor(project(), { running: old, env: emptyCache })).toBeUndefined();
  });

  it('when the pinned Node is too old as well, says so and what to install, without fetching it', () => {
    const fail = () => nodeFor(project({ node: '>=99' }), { running: old, env: emptyCache });
    expect(fail).toThrow(NodeRuntimeError);
    expect(fail).toThrow(
      `refundflow needs Node.js 99 or newer (package.json "engines"), and this is Node v20.19.0 (/usr/bin/node). The Node this project installs, ${NODE_RUNTIME_VERSION}, is older than that too: install Node.js 24 LTS (https://nodejs.org/en/download, or \`nvm install 24\`) and put it first on PATH.`,
    );
  });

  it('where the registry has no Node for this platform, says what to install', () => {
    const logged: string[] = [];
    expect(() => ensureNodeRuntime({ env: emptyCache, platform: 'darwin', arch: 'arm64', log: (line) => logged.push(line) })).toThrow(
      /is for linux-x64, and this is darwin-arm64: install Node\.js 24 LTS .* and put it first on PATH\.$/,
    );
    expect(logged).toEqual([]);
  });

  it('scripts/ensure-deps.mjs prints that one line and exits non-zero, before it installs anything', () => {
    // A clone in miniature whose engines no Node this project can install satisfies.
    const dir = project({ node: '>=99' });
    mkdirSync(join(dir, 'scripts'));
    for (const file of ['ensure-deps.mjs', 'node-runtime.mjs', 'cache-dir.mjs']) copyFileSync(join('scripts', file), join(dir, 'scripts', file));
    const run = spawnSync(process.execPath, [join(dir, 'scripts/ensure-deps.mjs')], { env: emptyCache, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^refundflow needs Node\\.js 99 or newer \\(package\\.json "engines"\\), and this is Node ${process.version.replaceAll('.', '\\.')} \\(.+\\)\\. .*install Node\\.js 24 LTS`,
      ),
    );
  });
});
