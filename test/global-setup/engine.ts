import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { refundSearchAttributes } from '../../src/domain/search-attributes.js';
import { sharedWorkflowBundle } from './provided.js';

/**
 * The engine project's global setup: one real Temporal dev server (the pinned CLI's, with the refund
 * search attributes) and the workflow bundle, for the project's files. vitest runs it only when one
 * of them is in the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cliPath = await ensureTemporalCli();
  const started = await Promise.allSettled([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cliPath },
        searchAttributes: refundSearchAttributes,
      },
    }),
    sharedWorkflowBundle(),
  ]);
  const [devServer, bundle] = started;
  if (devServer.status === 'rejected' || bundle.status === 'rejected') {
    // Stop whatever did start before failing, so no server outlives the run.
    if (devServer.status === 'fulfilled') await devServer.value.teardown();
    if (bundle.status === 'fulfilled') bundle.value.release();
    throw started.flatMap((s): unknown[] => (s.status === 'rejected' ? [s.reason] : []))[0];
  }
  const env = devServer.value;

  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', bundle.value.path);

  return async () => {
    await env.teardown();
    bundle.value.release();
  };
}
