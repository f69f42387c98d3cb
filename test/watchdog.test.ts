import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../scripts/watchdog.js';

/** Alive and not a zombie (a child whose parent is gone and that nobody has reaped yet holds nothing). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids in process group `pgid`. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        const fields = readFileSync(`/proc/${e}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .split(' ');
        return Number(fields[2]) === pgid && fields[0] !== 'Z' ? [Number(e)] : [];
      } catch {
        return [];
      }
    });
}

/** Processes a failed test may leave, with their start times: only the same process is killed after. */
const leftovers: { pid: number; start: string | undefined }[] = [];
afterAll(() => {
  for (const { pid, start } of leftovers) {
    if (start === undefined || processStartTime(pid) !== start) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

async function supervisor(): Promise<{ child: ChildProcess; pids: { group: number; plain: number; untied: number; reused: number } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/watchdog/supervisor.ts'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`the supervisor exited (${code}) before it started its children`)));
  });
  const pids = JSON.parse(line) as { group: number; plain: number; untied: number; reused: number };
  leftovers.push(...[pids.group, pids.untied, pids.reused].map((pid) => ({ pid, start: processStartTime(pid) })));
  return { child, pids };
}

/**
 * scripts/watchdog.ts: the cluster's hosts, the dev servers and the processes tests start are tied
 * to the process that started them, and go when it goes, however it goes.
 */
describe('children tied to their supervisor (scripts/watchdog.ts)', () => {
  it.each([
    ['SIGKILL', (c: ChildProcess) => c.kill('SIGKILL')],
    ['SIGTERM', (c: ChildProcess) => c.kill('SIGTERM')],
    ['SIGINT', (c: ChildProcess) => c.kill('SIGINT')],
    ['process.exit', (c: ChildProcess) => c.stdin?.write('exit\n')],
  ] as const)(
    'the supervisor ended by %s: its tied children, and a tied group with everything in it, are stopped; an untied one is not, nor a new process given a tied pid that had gone',
    async (_how, end) => {
      const { child, pids } = await supervisor();
      const members = groupMembers(pids.group);
      expect(members.length).toBe(2); // the group's sh and its sleep
      expect(alive(pids.plain)).toBe(true);

      const exited = new Promise((resolve) => child.once('exit', resolve));
      end(child);
      await exited;

      await expect.poll(() => [...members, pids.plain].filter(alive), { timeout: 5_000, interval: 100 }).toEqual([]);
      expect(alive(pids.untied)).toBe(true);
      expect(alive(pids.reused)).toBe(true);
      process.kill(pids.untied, 'SIGKILL');
      process.kill(pids.reused, 'SIGKILL');
    },
    30_000,
  );
});
