import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../scripts/temporal-cli.js';
import { startTestCluster } from '../helpers/cluster.js';
import { prebuildBundleFor } from './provided.js';

/**
 * The cluster project's Temporal: the production-shaped cluster (PostgreSQL at TEST_DATABASE_URL's
 * server, five server hosts, mutual TLS on the frontend, the UI server), its hosts tied to this
 * process (scripts/cluster/cluster.ts). vitest runs it only when one of the project's files is in
 * the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  prebuildBundleFor(project);
  const cliPath = await ensureTemporalCli();
  const cluster = await startTestCluster(cliPath);
  project.provide('temporalCliPath', cliPath);
  project.provide('cluster', cluster.info);
  return () => cluster.teardown();
}
