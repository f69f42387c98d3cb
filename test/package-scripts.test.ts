import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { depsUpToDate } from '../scripts/ensure-deps.mjs';
import { CHECKS } from './global-setup/checks.js';
import { PROJECTS } from './projects.js';

const exec = promisify(execFile);
const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const ENSURE_DEPS = 'node scripts/ensure-deps.mjs';

/** A script npm runs around another one (`prechaos` for `chaos`), rather than one of its own. */
const isHook = (name: string) => /^(pre|post)/.test(name) && name.replace(/^(pre|post)/, '') in scripts;

/** The commands of a script, split where the shell would run the next one. */
const commands = (script: string) => script.split(/&&|\|\||;/).map((c) => c.trim().split(/\s+/).join(' '));

/** Only plain Node on a dependency-free .mjs of scripts/ (ensure-deps itself, ensure-browser) runs without node_modules. */
const needsDependencies = (script: string) => commands(script).some((c) => !/^node scripts\/[\w-]+\.mjs( --[\w-]+)*$/.test(c));

describe('npm scripts on a fresh clone', () => {
  it('every script that needs the dependencies installs what is missing first (its pre-script runs scripts/ensure-deps.mjs)', () => {
    const needing = Object.keys(scripts).filter((name) => !isHook(name) && needsDependencies(scripts[name] ?? ''));
    // Not vacuous: the scripts the README and docs tell people to run are all among them.
    expect(needing).toEqual(
      expect.arrayContaining([
        'start',
        'test',
        'test:unit',
        'test:engine',
        'test:cluster',
        'fuzz',
        'sandbox',
        'worker',
        'api',
        'codec-server',
        'chaos',
        'bench',
        'docs:fault-table',
        'temporal:install',
        'lint',
        'typecheck',
      ]),
    );
    const missing = needing.filter((name) => commands(scripts[`pre${name}`] ?? '')[0] !== ENSURE_DEPS);
    expect(missing, `scripts without "pre<name>": "${ENSURE_DEPS}" first`).toEqual([]);
  });

  it('the scripts that supervise servers end in `exec`, so that the signal npm relays reaches the supervisor', () => {
    // npm relays a SIGTERM or SIGINT it gets to the shell running the script; the shell dies of it
    // and its child, not told, runs on with its servers (a `npm test` SIGTERMed ran the whole suite
    // on in the background). With `exec` the supervisor is that process, gets the signal itself, and
    // stops its servers (scripts/watchdog.ts for those it cannot stop in time).
    const supervising = ['test', 'test:unit', 'test:engine', 'test:cluster', 'fuzz', 'cluster', 'chaos', 'bench'];
    expect(supervising.filter((name) => !/^(\w+=\S+ )?exec /.test(commands(scripts[name] ?? '').at(-1) ?? ''))).toEqual([]);
  });

  it('the pre-scripts themselves run without the dependencies', () => {
    const hooks = Object.keys(scripts).filter(isHook);
    expect(hooks.filter((name) => needsDependencies(scripts[name] ?? ''))).toEqual([]);
  });
});

describe('the tiers (test/projects.ts, vitest.config.ts)', () => {
  /** Every test file under test/, as vitest names it (absolute). */
  const testFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'artifacts' ? [] : testFiles(path);
      return entry.name.endsWith('.test.ts') ? [path] : [];
    });

  it("puts every test file in exactly one project, as vitest itself resolves the projects' includes", async () => {
    // `vitest list --filesOnly` resolves the includes without running a global setup or a test.
    const { stdout } = await exec(process.execPath, ['node_modules/vitest/vitest.mjs', 'list', '--filesOnly', '--json'], { maxBuffer: 16 * 1024 * 1024 });
    const listed = JSON.parse(stdout) as Array<{ file: string; projectName: string }>;
    const projectsOf = new Map<string, string[]>();
    for (const { file, projectName } of listed) projectsOf.set(file, [...(projectsOf.get(file) ?? []), projectName]);
    const files = testFiles(join(process.cwd(), 'test'));
    expect(files.length).toBeGreaterThan(80);
    const wrong = files.filter((file) => projectsOf.get(file)?.length !== 1).map((file) => `${file}: ${projectsOf.get(file)?.join(', ') ?? 'in no project'}`);
    expect(wrong, 'test files in no project or in more than one').toEqual([]);
    expect(new Set(listed.map((l) => l.projectName))).toEqual(new Set(Object.keys(PROJECTS)));
  }, 60_000);

  it('npm test runs every project, lint and the type check among them (the checks project); test:unit, test:engine and test:cluster run their tiers', () => {
    expect(commands(scripts.test ?? '')).toEqual(['exec vitest run']);
    // The checks project runs what npm run lint and npm run typecheck run.
    expect(scripts.lint).toBe('eslint . && prettier --check .');
    expect(scripts.typecheck).toBe('tsc --noEmit');
    expect(CHECKS).toEqual({
      eslint: ['node_modules/eslint/bin/eslint.js', '.'],
      prettier: ['node_modules/prettier/bin/prettier.cjs', '--check', '.'],
      tsc: ['node_modules/typescript/bin/tsc', '--noEmit'],
    });
    expect(scripts['test:unit']).toBe('exec vitest run --project unit');
    expect(scripts['test:engine']).toBe("exec vitest run --project 'engine*'");
    expect(scripts['test:cluster']).toBe("exec vitest run --project 'cluster*'");
    // The fuzz test sends 2,000 requests in the suite, 10,000 in npm run fuzz.
    expect(scripts.fuzz).toBe('FUZZ_RUNS=10000 exec vitest run --project engine test/api/fuzz.test.ts');
    // The patterns pick the tiers' projects and no other.
    const picked = (pattern: string) => Object.keys(PROJECTS).filter((name) => new RegExp(`^${pattern.replace('*', '.*')}$`).test(name));
    expect(picked('engine*')).toEqual(['engine-own', 'engine']);
    expect(picked('cluster*')).toEqual(['cluster', 'cluster-own']);
  });
});

describe('scripts/test-summary.mjs, the end of .ci/run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-summary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const report = { numTotalTests: 41, numPassedTests: 40, numFailedTests: 0, numPendingTests: 1, numTodoTests: 0, success: true, testResults: [] };
  const times = Array.from({ length: 20 }, (_, i) => ({
    file: `test/f${i}.test.ts`,
    project: i % 2 ? 'engine' : 'unit',
    ms: (i + 1) * 1_000,
    testsMs: i * 1_000,
    state: 'passed',
  }));

  it('prints the 15 slowest files with their times, slowest first, the Node that ran the suite, and the "N passed, N failed" line last', async () => {
    writeFileSync(join(dir, 'vitest-results.json'), JSON.stringify(report));
    writeFileSync(join(dir, 'vitest-file-times.json'), JSON.stringify(times));
    writeFileSync(join(dir, 'vitest-node.json'), JSON.stringify({ version: 'v24.22.3', execPath: '/cache/node-24.22.3/bin/node' }));
    const { stdout } = await exec(process.execPath, ['scripts/test-summary.mjs', join(dir, 'vitest-results.json')]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('40 passed, 0 failed, 1 skipped');
    expect(lines.at(-2)).toBe('The suite ran on Node v24.22.3 (/cache/node-24.22.3/bin/node).');
    const rows = lines.filter((line) => /^\s+[\d.]+ s {2}/.test(line));
    expect(rows).toHaveLength(15);
    expect(rows[0]).toMatch(/^\s+20\.0 s {2}engine\s+test\/f19\.test\.ts$/);
    expect(rows[14]).toMatch(/^\s+6\.0 s {2}engine\s+test\/f5\.test\.ts$/);
  });

  it('fails the run when a test failed, still printing the line', async () => {
    writeFileSync(join(dir, 'vitest-results.json'), JSON.stringify({ ...report, numPassedTests: 39, numFailedTests: 1, success: false }));
    const failed = await exec(process.execPath, ['scripts/test-summary.mjs', join(dir, 'vitest-results.json')]).catch(
      (err: { code: number; stdout: string }) => err,
    );
    expect('code' in failed && failed.code).toBe(1);
    expect(failed.stdout.trimEnd().split('\n').at(-1)).toBe('39 passed, 1 failed, 1 skipped');
  });

  it('names a file whose test process died before it finished, counts its tests as not finished, and fails the run', async () => {
    // What vitest leaves when a worker exits unexpectedly: the file has no result, its tests no state.
    writeFileSync(join(dir, 'vitest-results.json'), JSON.stringify({ ...report, numTotalTests: 49, success: true }));
    writeFileSync(join(dir, 'vitest-file-times.json'), JSON.stringify(times.map((t, i) => (i === 3 ? { ...t, state: 'pending' } : t))));
    const died = await exec(process.execPath, ['scripts/test-summary.mjs', join(dir, 'vitest-results.json')]).catch(
      (err: { code: number; stdout: string }) => err,
    );
    expect('code' in died && died.code).toBe(1);
    const lines = died.stdout.trimEnd().split('\n');
    expect(lines).toContain('Did not pass (pending): test/f3.test.ts [engine]');
    expect(lines.at(-1)).toBe('40 passed, 0 failed, 1 skipped, 8 did not finish');
  });
});

describe('scripts/ensure-deps.mjs and npx refundflow', () => {
  const root = mkdtempSync(join(tmpdir(), 'refundflow-fresh-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /**
   * A clone in miniature, without node_modules: the real bin/refundflow.mjs and scripts/ensure-deps.mjs
   * (with the files it reads; no engines, so any Node will do: test/node-runtime.test.ts has the rest),
   * a lockfile whose one dependency is a local stand-in for tsx (so npm ci needs no network), and a
   * src/cli/main.ts that says it ran. The stand-in's `register()` lets Node load that .ts file as tsx would.
   */
  function miniatureClone(): string {
    const dir = join(root, 'clone');
    for (const sub of ['bin', 'scripts', 'src/cli', 'vendor/tsx/esm']) mkdirSync(join(dir, sub), { recursive: true });
    copyFileSync('bin/refundflow.mjs', join(dir, 'bin/refundflow.mjs'));
    for (const file of ['ensure-deps.mjs', 'node-runtime.mjs', 'cache-dir.mjs']) copyFileSync(join('scripts', file), join(dir, 'scripts', file));
    writeFileSync(join(dir, 'src/cli/main.ts'), "console.log(`the CLI ran: ${process.argv.slice(2).join(' ')}`);\n");
    writeFileSync(
      join(dir, 'vendor/tsx/package.json'),
      JSON.stringify({ name: 'tsx', version: '0.0.0', type: 'module', exports: { './esm/api': './esm/api.js' } }),
    );
    writeFileSync(
      join(dir, 'vendor/tsx/esm/api.js'),
      "import { register as registerHooks } from 'node:module';\nexport function register() { registerHooks('./hooks.js', import.meta.url); }\n",
    );
    writeFileSync(
      join(dir, 'vendor/tsx/esm/hooks.js'),
      "import { readFile } from 'node:fs/promises';\n" +
        'export async function load(url, context, next) {\n' +
        "  if (url.endsWith('.ts')) return { format: 'module', source: await readFile(new URL(url), 'utf8'), shortCircuit: true };\n" +
        '  return next(url, context);\n}\n',
    );
    const dependencies = { tsx: 'file:vendor/tsx' };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh', version: '1.0.0', private: true, type: 'module', dependencies }));
    writeFileSync(
      join(dir, 'package-lock.json'),
      JSON.stringify({
        name: 'fresh',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'fresh', version: '1.0.0', dependencies },
          'node_modules/tsx': { resolved: 'vendor/tsx', link: true },
          'vendor/tsx': { version: '0.0.0', type: 'module' },
        },
      }),
    );
    return dir;
  }

  /** `npx refundflow …` as npx runs it: the bin under Node, from a folder other than the clone's. */
  const refundflow = (dir: string, args: string[]) =>
    exec(process.execPath, [join(dir, 'bin/refundflow.mjs'), ...args], { cwd: root, env: { ...process.env, npm_config_offline: 'true' } });

  it('installs the dependencies on a fresh clone before it loads tsx, keeping stdout for the command; later runs install nothing', async () => {
    const dir = miniatureClone();
    expect(depsUpToDate(dir)).toBe(false);

    const first = await refundflow(dir, ['new-key']);
    expect(first.stderr).toContain('Installing npm dependencies (npm ci)');
    // `export PAYLOAD_ENCRYPTION_KEYS="$(npx refundflow new-key)"` must read the key alone.
    expect(first.stdout).toBe('the CLI ran: new-key\n');
    expect(existsSync(join(dir, 'node_modules/tsx/esm/api.js'))).toBe(true);
    expect(depsUpToDate(dir)).toBe(true);

    const again = await refundflow(dir, ['status', 'RF-1']);
    expect(again).toEqual({ stdout: 'the CLI ran: status RF-1\n', stderr: '' });
  });

  it('installs again when package-lock.json is newer than the install', async () => {
    const dir = join(root, 'clone');
    expect(depsUpToDate(dir)).toBe(true);
    // As after a pull that changed the lockfile: the install is older than it.
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'node_modules/.package-lock.json'), earlier, earlier);
    expect(depsUpToDate(dir)).toBe(false);
    const run = await refundflow(dir, ['list']);
    expect(run.stderr).toContain('Installing npm dependencies (npm ci)');
    expect(run.stdout).toBe('the CLI ran: list\n');
    expect(depsUpToDate(dir)).toBe(true);
  });
});
