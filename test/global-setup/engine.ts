import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { refundSearchAttributes } from '../../src/domain/search-attributes.js';
import { tieToThisProcess } from '../../scripts/watchdog.js';
import { childPids, sharedWorkflowBundle } from './provided.js';

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
  // A run killed before its teardown (SIGTERM or Ctrl-C, on which vitest exits at once, or SIGKILL)
  // takes the dev server with it (scripts/watchdog.ts); the SDK does not say its pid, so it is found
  // among this process's children by its port.
  const port = env.address.split(':').at(-1) ?? '';
  const untie = childPids((args) => args.includes('start-dev') && args.includes(port)).map((pid) => tieToThisProcess(pid));

  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', bundle.value.path);

  return async () => {
    await env.teardown();
    for (const u of untie) u();
    bundle.value.release();
  };
}
