import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../scripts/temporal-cli.js';
import { startTestCluster, type TestClusterInfo } from './helpers/cluster.js';
import { refundSearchAttributes } from '../src/domain/search-attributes.js';
import { workflowsPath } from '../src/wiring/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    workflowBundlePath: string;
    /** The production-shaped cluster (test/helpers/cluster.ts): PostgreSQL, five hosts, mutual TLS, the UI server. */
    cluster: TestClusterInfo;
  }
}

/**
 * Starts one real Temporal dev server and one production-shaped cluster, and builds the workflow
 * bundle once, for every test file.
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
    startTestCluster(cliPath),
    bundleWorkflowCode({ workflowsPath, logger: quietLogger }),
  ]);
  const [devServer, clusterStart, bundle] = started;
  if (devServer.status === 'rejected' || clusterStart.status === 'rejected' || bundle.status === 'rejected') {
    // Stop whatever did start before failing, so no server outlives the run.
    if (devServer.status === 'fulfilled') await devServer.value.teardown();
    if (clusterStart.status === 'fulfilled') await clusterStart.value.teardown();
    throw started.flatMap((s): unknown[] => (s.status === 'rejected' ? [s.reason] : []))[0];
  }
  const env = devServer.value;
  const cluster = clusterStart.value;
  const { code } = bundle.value;
  const bundleDir = mkdtempSync(join(tmpdir(), 'refundflow-bundle-'));
  const workflowBundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(workflowBundlePath, code);

  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('cluster', cluster.info);

  return async () => {
    await Promise.all([env.teardown(), cluster.teardown()]);
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
