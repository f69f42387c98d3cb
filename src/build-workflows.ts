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
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from './codec/data-converter.js';
import { workflowsPath } from './wiring/worker.js';
import { bundleFileName, bundleKey, compiledCode, prebuiltBundleDir } from './workflow-bundle.js';

async function bundle(withFailureConverter: boolean): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    ...(withFailureConverter && { failureConverterPath }),
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
