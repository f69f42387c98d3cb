import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../scripts/temporal-cli.js';
import { refundSearchAttributes } from '../src/domain/search-attributes.js';
import { workflowsPath } from '../src/wiring/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    workflowBundlePath: string;
  }
}

/** Starts one real Temporal dev server and builds the workflow bundle once, for every test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cliPath = await ensureTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cliPath },
      searchAttributes: refundSearchAttributes,
    },
  });
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  const bundleDir = mkdtempSync(join(tmpdir(), 'refundflow-bundle-'));
  const workflowBundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(workflowBundlePath, code);

  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await env.teardown();
    rmSync(bundleDir, { recursive: true, force: true });
  };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
