import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ClusterHost } from '../scripts/cluster/cluster.js';
import { alive, Leftovers } from './helpers/leftovers.js';
import { run } from './helpers/process.js';

const dir = mkdtempSync(join(tmpdir(), 'refundflow-killed-cluster-'));
/** What a failed test may leave: gone before the next test, which needs the same fixed ports. */
const left = new Leftovers();
afterEach(() => left.killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pids of a cluster's five Temporal hosts and its UI server, as startCluster writes them beside their logs. */
function hostPids(logDir: string): number[] {
  const pids = Object.values(JSON.parse(readFileSync(join(logDir, 'pids.json'), 'utf8')) as Record<ClusterHost, number>);
  expect(pids).toHaveLength(6);
  left.add(...pids);
  return pids;
}

/**
 * `npm run cluster` on its fixed ports (scripts/cluster/main.ts), its logs under a directory `name`, with
 * small pools (the suite's cluster shares the PostgreSQL server). Started as npm starts it (`exec
 * node --import tsx scripts/cluster/main.ts`, test/package-scripts.test.ts) but without npm in
 * front, whose own exit on a Ctrl-C (code 0, or killed by the SIGINT itself: both were seen) is
 * npm's affair: the signals reach the supervisor itself. Answers once it is up, with its hosts' pids.
 */
async function npmRunCluster(name: string) {
  const dataDir = join(dir, name);
  const cluster = run(process.execPath, ['--import', 'tsx', 'scripts/cluster/main.ts'], {
    ...process.env,
    DATA_DIR: dataDir,
    TEMPORAL_DB_MAX_CONNS: '2',
    TEMPORAL_VISIBILITY_DB_MAX_CONNS: '1',
  });
  if (cluster.child.pid) left.add(cluster.child.pid);
  await cluster.waitForOutput(/Ctrl-C stops every host/, 240_000);
  const hosts = hostPids(join(dataDir, 'cluster'));
  expect(hosts.filter(alive)).toHaveLength(6);
  return { cluster, hosts };
}

/**
 * The cluster's hosts run in process groups of their own (a Ctrl-C in the terminal reaches its
 * supervisor alone, which stops them in order) and are tied to that supervisor (scripts/watchdog.ts):
 * `npm run cluster`, the cluster project's global setup, the chaos run and the benchmark, all
 * through startCluster (scripts/cluster/cluster.ts). Killed, a supervisor takes its hosts with it
 * instead of leaving them on their ports.
 */
describe('a cluster whose supervisor is stopped or killed', () => {
  it('npm run cluster and Ctrl-C: the UI server and the five hosts are gone, stopped in order when it exits 0', async () => {
    const { cluster, hosts } = await npmRunCluster('ctrl-c');

    // As a terminal's Ctrl-C: SIGINT to the supervisor's process group (the hosts are in their own).
    cluster.signalGroup('SIGINT');
    const exit = await cluster.exited;
    // Two fresh-clone runs in six saw the supervisor itself end killed by the SIGINT rather than
    // exit 0 after stopping its hosts (not yet explained: see the note); its watchdog then
    // stops them. Either way nothing is left; a clean exit has stopped them itself, in order.
    expect([0, 'SIGINT']).toContain(exit);
    if (exit === 0) {
      expect(cluster.output()).toContain('SIGINT: stopping the UI server and the Temporal hosts');
      expect(cluster.output()).toContain('Stopped.');
      expect(hosts.filter(alive)).toEqual([]);
    }
    await expect.poll(() => hosts.filter(alive), { timeout: 20_000, interval: 200 }).toEqual([]);
  }, 330_000);

  it('npm run cluster SIGKILLed: its hosts are gone', async () => {
    const { cluster, hosts } = await npmRunCluster('sigkill');
    cluster.child.kill('SIGKILL');
    expect(await cluster.exited).toBe('SIGKILL');
    // The watchdog's SIGTERM, or its SIGKILL 10 s later.
    await expect.poll(() => hosts.filter(alive), { timeout: 20_000, interval: 200 }).toEqual([]);
  }, 300_000);

  it('a vitest run of the cluster project SIGKILLed: the hosts and the UI server its global setup started are gone', async () => {
    const state = join(dir, 'vitest.json');
    const vitest = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/killed-run/cluster.config.ts'], {
      env: { ...process.env, KILLED_RUN_STATE: state },
      stdio: 'ignore',
    });
    if (vitest.pid) left.add(vitest.pid);
    await expect.poll(() => existsSync(state), { timeout: 240_000, interval: 500 }).toBe(true);
    const { logDir } = JSON.parse(readFileSync(state, 'utf8')) as { logDir: string };
    const hosts = hostPids(logDir);
    expect(hosts.filter(alive)).toHaveLength(6);

    const exited = new Promise((resolve) => vitest.once('exit', resolve));
    vitest.kill('SIGKILL');
    await exited;
    await expect.poll(() => hosts.filter(alive), { timeout: 20_000, interval: 200 }).toEqual([]);
  }, 300_000);
});
