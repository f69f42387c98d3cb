import type { TestProject } from 'vitest/node';
import { sharedWorkflowBundle } from './provided.js';

/**
 * The workflow bundle, for the engine and the cluster projects' workers: built once per run however
 * many projects use it (test/global-setup/provided.ts), removed after the last.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const bundle = await sharedWorkflowBundle();
  project.provide('workflowBundlePath', bundle.path);
  return () => bundle.release();
}
