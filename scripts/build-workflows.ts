/**
 * `node --import tsx scripts/build-workflows.ts <out.js> [--failure-converter]`: bundles the workflows
 * (src/workflows) for a worker to load as `workflowBundle: { codePath }`. Run by
 * src/workflow-bundle.ts in a child process, so the bundler's memory is not the worker's.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../src/codec/data-converter.js';
import { workflowsPath } from '../src/wiring/worker.js';

const [out, flag] = process.argv.slice(2);
if (!out || (flag !== undefined && flag !== '--failure-converter')) {
  console.error('usage: scripts/build-workflows.ts <out.js> [--failure-converter]');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({
  workflowsPath,
  ...(flag === '--failure-converter' && { failureConverterPath }),
  logger: { trace() {}, debug() {}, info() {}, warn: (m) => console.warn(m), error: (m) => console.error(m), log() {} },
});
writeFileSync(out, code);
