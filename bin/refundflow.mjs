#!/usr/bin/env node
// `npx refundflow <command>`. In a clone the CLI runs from its TypeScript source, through tsx like the
// rest of the project: on a fresh clone npx finds this file before anything is installed, so the
// dependencies are installed first (scripts/ensure-deps.mjs: npm ci when node_modules is missing or
// stale, its output on stderr), and tsx is imported only after. On a Node older than package.json's
// "engines" (the first `npx refundflow` of a fresh clone, before node_modules/.bin/node is there),
// the CLI runs again on the Node ensureDeps() provides. The image holds no source and no tsx,
// only the compiled CLI (`npm run build`'s dist/), and runs that. The source decides, not whether
// dist/ is there: a clone that was built once still runs the code it has checked out, never an old
// build of it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { ensureDeps } = await import('../scripts/ensure-deps.mjs');
  const bin = ensureDeps();
  if (bin) {
    const again = spawnSync(join(bin, 'node'), process.argv.slice(1), { stdio: 'inherit' });
    process.exit(again.status ?? 1);
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
