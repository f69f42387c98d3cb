import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../scripts/watchdog.js';

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of the processes whose arguments include every one of `parts`. */
function processesWith(...parts: string[]): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const args = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
        return parts.every((p) => args.includes(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}

const dir = mkdtempSync(join(tmpdir(), 'refundflow-killed-run-'));
/** What a failed test may leave, with start times: only the same process is killed after (pids come round again). */
const left: { pid: number; start: string | undefined }[] = [];
const leave = (...pids: number[]) => left.push(...pids.map((pid) => ({ pid, start: processStartTime(pid) })));
afterAll(() => {
  for (const { pid, start } of left) if (start !== undefined && processStartTime(pid) === start && alive(pid)) process.kill(pid, 'SIGKILL');
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
      if (vitest.pid) leave(vitest.pid);
      await expect.poll(() => existsSync(state), { timeout: 90_000, interval: 200 }).toBe(true);
      const { address, processPid } = JSON.parse(readFileSync(state, 'utf8')) as { address: string; processPid: number };
      const port = address.split(':').at(-1) ?? '';
      const devServers = processesWith('start-dev', port);
      expect(devServers).toHaveLength(1);
      leave(processPid, ...devServers);
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
