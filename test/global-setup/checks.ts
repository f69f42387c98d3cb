import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { tieChild } from '../../scripts/watchdog.js';

/** What `npm run lint` (ESLint, then Prettier's check) and `npm run typecheck` run (test/package-scripts.test.ts holds them to it). */
export const CHECKS = {
  eslint: ['node_modules/eslint/bin/eslint.js', '.'],
  prettier: ['node_modules/prettier/bin/prettier.cjs', '--check', '.'],
  tsc: ['node_modules/typescript/bin/tsc', '--noEmit'],
} as const;

/** What a check left in the checks directory when it ended. */
export interface CheckResult {
  code: number | null;
  output: string;
}

/**
 * The checks project's global setup: starts ESLint, Prettier's check and the type check at the beginning of the run,
 * in the background and at a lower priority, so that they run beside the tests (on the core a test
 * file waiting for Temporal leaves idle) instead of before all of them. Each writes its exit code
 * and output to <checksDir>/<name>.json when it ends; test/checks/*.test.ts, in the last group of
 * the run (sequence.groupOrder), read them.
 */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-checks-'));
  const children = Object.entries(CHECKS).map(([name, args]) => {
    const child = spawn('nice', ['-n', '10', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    tieChild(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', (err) => writeFileSync(join(dir, `${name}.json`), JSON.stringify({ code: null, output: String(err) } satisfies CheckResult)));
    child.on('close', (code) => {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify({ code, output } satisfies CheckResult));
    });
    return child;
  });
  project.provide('checksDir', dir);
  return () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
}
