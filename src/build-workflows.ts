/**
 * Bundles the workflows for a worker's `workflowBundle: { codePath }` (src/workflow-bundle.ts finds
 * the bundles and says why they are built where they are):
 *
 *   node dist/build-workflows.js
 *     `npm run build`'s step after tsc: the compiled workflows (dist/workflows), with and without the
 *     failure converter, into dist/workflow-bundles/ under their keys, in place of earlier ones.
 *   node --import tsx src/build-workflows.ts <out.js> [--failure-converter]
 *     one bundle of the source (src/workflows), for the cache of a worker run from source; run in a
 *     child process, so the bundler's memory is not the worker's.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from './codec/data-converter.js';
import { workflowsPath } from './wiring/worker.js';
import { bundleFileName, bundleKey, compiledCode, prebuiltBundleDir } from './workflow-bundle.js';

/**
 * Modules evaluated once per worker thread, in the reusable V8 context, instead of once per workflow
 * run: the check of a decision's proof (src/domain/decision-proof.ts), with what it imports — the
 * Ed25519 library, its SHA-512 and src/domain/actor.ts. Every run evaluated them, whether it checked a
 * proof or not (about 0.8 ms of the workflow thread a run: docs/performance.md, "Modules evaluated
 * once"). They hold no state of a run's: pure functions and constants, and the Ed25519 library's table
 * of base-point multiples, the same for every run. The module itself is named, not the libraries: the
 * bundler drops a bare require of a package that declares itself free of side effects.
 */
const SHARED_MODULES = [fileURLToPath(new URL(`./domain/decision-proof${extname(import.meta.url)}`, import.meta.url))];

async function bundle(withFailureConverter: boolean): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    ...(withFailureConverter && { failureConverterPath }),
    preloadModules: SHARED_MODULES,
    logger: { trace() {}, debug() {}, info() {}, warn: (m) => console.warn(m), error: (m) => console.error(m), log() {} },
  });
  return code;
}

const usage = 'usage: node dist/build-workflows.js | node --import tsx src/build-workflows.ts <out.js> [--failure-converter]';
const [out, flag, ...rest] = process.argv.slice(2);

if (out === undefined) {
  if (!compiledCode) {
    console.error(`Without arguments this bundles the compiled code, beside it: run it as node dist/build-workflows.js (npm run build).\n${usage}`);
    process.exit(2);
  }
  const keys = [false, true].map((withFailureConverter) => ({ withFailureConverter, key: bundleKey(withFailureConverter) }));
  rmSync(prebuiltBundleDir, { recursive: true, force: true });
  mkdirSync(prebuiltBundleDir);
  for (const { withFailureConverter, key } of keys) {
    const codePath = join(prebuiltBundleDir, bundleFileName(key));
    writeFileSync(codePath, await bundle(withFailureConverter));
    console.log(`Workflow bundle ${withFailureConverter ? 'with' : 'without'} the failure converter: ${codePath}`);
  }
} else if ((flag === undefined || flag === '--failure-converter') && rest.length === 0) {
  writeFileSync(out, await bundle(flag === '--failure-converter'));
} else {
  console.error(usage);
  process.exit(2);
}
