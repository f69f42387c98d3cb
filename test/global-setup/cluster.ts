import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { startTestCluster } from '../helpers/cluster.js';
import { sharedWorkflowBundle } from './provided.js';

/**
 * The cluster project's global setup: the production-shaped cluster (PostgreSQL at
 * TEST_DATABASE_URL's server, five server hosts, mutual TLS on the frontend, the UI server) and the
 * workflow bundle its files' workers run (built once when the engine project runs too). vitest runs
 * it only when one of the project's files is in the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cliPath = await ensureTemporalCli();
  const started = await Promise.allSettled([startTestCluster(cliPath), sharedWorkflowBundle()]);
  const [clusterStart, bundle] = started;
  if (clusterStart.status === 'rejected' || bundle.status === 'rejected') {
    if (clusterStart.status === 'fulfilled') await clusterStart.value.teardown();
    if (bundle.status === 'fulfilled') bundle.value.release();
    throw started.flatMap((s): unknown[] => (s.status === 'rejected' ? [s.reason] : []))[0];
  }
  const cluster = clusterStart.value;

  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', bundle.value.path);
  project.provide('cluster', cluster.info);

  return async () => {
    await cluster.teardown();
    bundle.value.release();
  };
}
