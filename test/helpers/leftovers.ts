import { readdirSync, readFileSync } from 'node:fs';
import { processStartTime } from '../../scripts/watchdog.js';

/**
 * For the tests that kill a supervisor and look for what it left (test/killed-run.test.ts,
 * test/killed-cluster.test.ts): whether a process lives, which processes a run started, and the
 * clean-up of whatever a failed test leaves behind.
 */

/** Alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of the processes whose arguments include every one of `parts`. */
export function processesWith(...parts: string[]): number[] {
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

/**
 * The processes a test expects to be gone, each with its start time, so that the clean-up after a
 * failed test SIGKILLs only those very processes (pids come round again), never a later one.
 */
export class Leftovers {
  private readonly pids: { pid: number; start: string | undefined }[] = [];

  add(...pids: number[]): void {
    this.pids.push(...pids.map((pid) => ({ pid, start: processStartTime(pid) })));
  }

  killAll(): void {
    for (const { pid, start } of this.pids) if (start !== undefined && processStartTime(pid) === start && alive(pid)) process.kill(pid, 'SIGKILL');
  }
}
