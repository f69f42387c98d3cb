#!/usr/bin/env node
// `npx refundflow <command>`. In a clone the CLI runs from its TypeScript source, through tsx like the
// rest of the project: on a fresh clone npx finds this file before anything is installed, so the
// dependencies are installed first (scripts/ensure-deps.mjs: npm ci when node_modules is missing or
// stale, its output on stderr), and tsx is imported only after. The image holds no source and no tsx,
// only the compiled CLI (`npm run build`'s dist/), and runs that. The source decides, not whether
// dist/ is there: a clone that was built once still runs the code it has checked out, never an old
// build of it.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { ensureDeps } = await import('../scripts/ensure-deps.mjs');
  ensureDeps();
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
