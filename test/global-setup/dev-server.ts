import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { tieToThisProcess } from '../../scripts/watchdog.js';
import { refundSearchAttributes } from '../../src/domain/search-attributes.js';
import { childPids, prebuildBundleFor } from './provided.js';

/**
 * The engine project's Temporal: one real dev server (the pinned CLI's, with the refund search
 * attributes) for the project's files. vitest runs it only when one of them is in the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  prebuildBundleFor(project);
  const cliPath = await ensureTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cliPath },
      searchAttributes: refundSearchAttributes,
    },
  });
  // A run killed before its teardown (SIGTERM or Ctrl-C, on which vitest exits at once, or SIGKILL)
  // takes the dev server with it (scripts/watchdog.ts); the SDK does not say its pid, so it is found
  // among this process's children by its port.
  const port = env.address.split(':').at(-1) ?? '';
  const pids = childPids((args) => args.includes('start-dev') && args.some((arg) => arg === port || arg.endsWith(`=${port}`)));
  if (pids.length === 0)
    console.warn(`The dev server on port ${port} was not found among this process's children: a run killed before its teardown leaves it running.`);
  const untie = pids.map((pid) => tieToThisProcess(pid));

  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cliPath);

  return async () => {
    await env.teardown();
    for (const u of untie) u();
  };
}
