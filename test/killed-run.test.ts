import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, Leftovers, processesWith } from './helpers/leftovers.js';

const dir = mkdtempSync(join(tmpdir(), 'refundflow-killed-run-'));
/** What a failed test may leave. */
const left = new Leftovers();
afterAll(() => {
  left.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A vitest run killed before its teardown — vitest exits at once on SIGTERM and SIGINT, without
 * the global teardown; SIGKILL leaves it no say — leaves nothing: the engine project's dev server
 * (test/global-setup/dev-server.ts) and the processes its test files start are tied to their
 * supervisors (scripts/watchdog.ts). npm relays its signal straight to vitest (`exec vitest`,
 * test/package-scripts.test.ts).
 */
describe('a vitest run killed midway', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGKILL'] as const)(
    'by %s: its dev server and the process its test started are gone',
    async (signal) => {
      const state = join(dir, `${signal}.json`);
      const vitest = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/killed-run/vitest.config.ts'], {
        env: { ...process.env, KILLED_RUN_STATE: state },
        stdio: 'ignore',
      });
      if (vitest.pid) left.add(vitest.pid);
      await expect.poll(() => existsSync(state), { timeout: 90_000, interval: 200 }).toBe(true);
      const { address, processPid } = JSON.parse(readFileSync(state, 'utf8')) as { address: string; processPid: number };
      const port = address.split(':').at(-1) ?? '';
      const devServers = processesWith('start-dev', port);
      expect(devServers).toHaveLength(1);
      left.add(processPid, ...devServers);
      expect([processPid, ...devServers].filter(alive)).toHaveLength(2);

      const exited = new Promise((resolve) => vitest.once('exit', resolve));
      vitest.kill(signal);
      await exited;

      // The watchdog's SIGTERM, or its SIGKILL 10 s later.
      await expect.poll(() => [processPid, ...devServers].filter(alive), { timeout: 20_000, interval: 200 }).toEqual([]);
    },
    150_000,
  );
});
