#!/usr/bin/env node
// `npx refundflow <command>`: the CLI is TypeScript, run through tsx like the rest of the project.
// On a fresh clone npx finds this file before anything is installed, so the dependencies are
// installed first (scripts/ensure-deps.mjs: npm ci when node_modules is missing or stale, its output
// on stderr), and tsx is imported only after.
import { ensureDeps } from '../scripts/ensure-deps.mjs';

ensureDeps();
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
