/**
 * `npm run histories:release`: records the workflow histories of the code at HEAD into
 * test/histories/releases/<package version>+<commit>/, the set the replay gate's test replays against
 * the code of every later commit (docs/engine.md, "Changing workflow code").
 *
 * The histories are what the tests record anyway (test/helpers/histories.ts): every test file that
 * calls recordHistory is run with RECORD_HISTORIES=1 and RECORD_HISTORIES_DIR pointing at a fresh
 * folder. They run in a clean worktree of HEAD, never in this checkout, so that what the folder's name
 * says is what was run: uncommitted changes here (to src/ or to the tests) are in none of them. The
 * folder is written only when every one of those tests passed, and never over an earlier recording.
 * The worktree installs its own node_modules (npm ci, from HEAD's lockfile; a few minutes the first
 * time, from npm's cache after): it shares nothing of this checkout's but the git repository.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tieChild } from './watchdog.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const releasesDir = join(root, 'test', 'histories', 'releases');

const git = (args: string[], cwd = root) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** The test files that record a history: each one that calls recordHistory, found in `dir`'s test/. */
function recordingTestFiles(dir: string): string[] {
  const walk = (at: string): string[] =>
    readdirSync(at, { withFileTypes: true }).flatMap((entry) => {
      const path = join(at, entry.name);
      if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'artifacts' ? [] : walk(path);
      return entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').includes('recordHistory(') ? [relative(dir, path)] : [];
    });
  return walk(join(dir, 'test')).sort();
}

/** Runs vitest on `files` in `cwd`, its output passed through; SIGINT and SIGTERM reach it too. */
function runTests(cwd: string, files: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  const child = spawn(process.execPath, [join(cwd, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files], { cwd, env, stdio: 'inherit' });
  tieChild(child);
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(signal ? null : code);
    });
  });
}

async function main(): Promise<number> {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = git(['rev-parse', '--short=12', 'HEAD']);
  const name = `${version}+${commit}`;
  const target = join(releasesDir, name);
  if (existsSync(target)) {
    console.error(`${relative(root, target)} is there already: the histories of ${name} were recorded. Delete it to record them again.`);
    return 1;
  }
  const uncommitted = git(['status', '--porcelain', '--', 'src', 'test', 'package.json', 'package-lock.json']);
  if (uncommitted !== '') console.log(`Uncommitted changes here are left out: the histories are recorded from HEAD (${commit}) in a clean worktree.`);

  const work = mkdtempSync(join(tmpdir(), 'refundflow-histories-'));
  const worktree = join(work, 'checkout');
  const recorded = join(work, name);
  git(['worktree', 'add', '--detach', worktree, 'HEAD']);
  try {
    // The worktree gets dependencies of its own, from HEAD's lockfile: never a link to this
    // checkout's node_modules, which npm ci run in the worktree (its lockfile newer than the link's
    // folder) would empty through the link.
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: worktree, stdio: ['ignore', 2, 2] });
    const files = recordingTestFiles(worktree);
    console.log(`Recording the histories of ${name} from ${files.length} test files: ${files.join(' ')}`);
    const env: NodeJS.ProcessEnv = { ...process.env, RECORD_HISTORIES: '1', RECORD_HISTORIES_DIR: recorded };
    delete env.RECORD_HISTORIES_SUFFIX;
    const code = await runTests(worktree, files, env);
    if (code !== 0) {
      console.error(`The recording tests did not all pass (${code === null ? 'stopped by a signal' : `exit ${code}`}): nothing was written.`);
      return 1;
    }
    const histories = existsSync(recorded) ? readdirSync(recorded).filter((file) => file.endsWith('.json')) : [];
    if (histories.length === 0) {
      console.error('The tests passed but recorded no history: nothing was written.');
      return 1;
    }
    renameOrCopy(recorded, target);
    const bytes = histories.reduce((sum, file) => sum + statSync(join(target, file)).size, 0);
    const types = [...new Set(histories.map((file) => file.split('.')[0]))].sort();
    console.log(`${relative(root, target)}: ${histories.length} histories, ${(bytes / 1024).toFixed(0)} KiB, of ${types.join(', ')}`);
    return 0;
  } finally {
    git(['worktree', 'remove', '--force', worktree]);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Moves the recorded folder into the checkout; across file systems (tmpdir on another one), copies it. */
function renameOrCopy(from: string, to: string): void {
  mkdirSync(releasesDir, { recursive: true });
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true });
  }
}

process.exitCode = await main();
