/**
 * Ties child processes to the process that started them: when this process ends — by a signal, a
 * crash, process.exit, SIGKILL — the processes tied to it are sent SIGTERM (their whole process
 * group when they lead one), and SIGKILL 10 s later if they are still there.
 *
 * The servers we start for a run (the cluster's hosts and UI server, the dev server) are in process
 * groups of their own, so that a Ctrl-C reaches their supervisor alone and it stops them in order;
 * but then nothing stopped them when the supervisor itself was killed, and they kept their ports.
 * Here one small `sh` per supervisor, in a group of its own, holds the read end of a pipe whose only
 * write end is the supervisor's: the kernel closes it however the supervisor ends, and the watchdog,
 * reading end-of-file, stops what is still tied. A supervisor that stops its children itself (the
 * normal way) unties each as it exits, and the watchdog then has nothing to do.
 *
 * A pid alone does not name a process for long: the kernel hands it out again once it is free, and
 * with this machine's pid_max (32768) a busy test run goes round in minutes. Each tie carries the
 * process's start time (/proc/PID/stat), and the watchdog signals a pid only while the same start
 * time is there: a tie whose process has gone, and whose pid another process now has, is skipped.
 * A start time is in clock ticks (10 ms): a pid handed out again within the same tick would pass
 * for the first process, which a pid that had to go round 32768 others never is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/** Seconds a tied process gets between SIGTERM and SIGKILL. */
export const WATCHDOG_GRACE_SECONDS = 10;

/**
 * Lines on stdin: "123:456" ties pid 123 started at 456 (clock ticks after boot, /proc/123/stat's
 * 22nd field), "-123:456" unties it. At end of input: SIGTERM to each tied group (or, if the pid
 * leads none, the process) still held by the process it names, wait up to the grace for them to
 * go, then SIGKILL. Linux: a process's state and start time are read from /proc.
 */
const WATCHDOG_SCRIPT = `
pids=' '
while IFS= read -r line; do
  case $line in
    -*) pids=$(printf '%s' "$pids" | sed "s/ \${line#-} / /g") ;;
    *[!0-9:]*|'') ;;
    *) pids="$pids$line " ;;
  esac
done
# The state and start time of pid $1, as "S 456" (empty once it is gone).
pstat() { sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1,20; }
# The tied pids still held by the process tied, not yet a zombie (one whose parent is gone and that
# nobody has reaped yet holds no port: it counts as gone).
held() { for tie in $pids; do pid=\${tie%%:*}; s=$(pstat $pid); [ -n "$s" ] && [ "\${s#* }" = "\${tie#*:}" ] && [ "\${s%% *}" != Z ] && echo $pid; done; }
send() { for pid in $(held); do kill -$1 -$pid 2>/dev/null || kill -$1 $pid 2>/dev/null; done; }
[ -n "$(held)" ] || exit 0
send TERM
i=0
while [ $i -lt ${WATCHDOG_GRACE_SECONDS * 10} ] && [ -n "$(held)" ]; do sleep 0.1; i=$((i + 1)); done
send KILL
exit 0
`;

/** When `pid` started, in clock ticks after boot (/proc/PID/stat's 22nd field); undefined once it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ')[19];
  } catch {
    return undefined;
  }
}

let watchdog: ChildProcess | undefined;

function started(): ChildProcess {
  if (watchdog?.stdin?.writable) return watchdog;
  // Its own process group: the Ctrl-C that reaches the supervisor's group must not stop the watchdog
  // before it has done its work. It must not keep this process alive either.
  const child = spawn('sh', ['-c', WATCHDOG_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.unref();
  (child.stdin as Socket | null)?.unref();
  child.stdin?.on('error', () => undefined);
  watchdog = child;
  return child;
}

/**
 * Ties `pid` (and its process group, if it leads one) to this process; the returned function unties
 * it, for a child that has exited (so that a later process given the same pid is never signalled).
 */
export function tieToThisProcess(pid: number): () => void {
  if (!Number.isInteger(pid) || pid <= 0) return () => undefined;
  // Gone already (or not Linux): nothing to stop, and nothing that pid names may be signalled later.
  const start = processStartTime(pid);
  if (start === undefined) return () => undefined;
  const dog = started();
  dog.stdin?.write(`${pid}:${start}\n`);
  let tied = true;
  return () => {
    if (!tied) return;
    tied = false;
    if (dog.stdin?.writable) dog.stdin.write(`-${pid}:${start}\n`);
  };
}

/**
 * Ties a child this process spawned to it until the child exits (then unties it, so its pid, once
 * reused, is never signalled): what every supervisor of a server or a check does with its children.
 */
export function tieChild(child: ChildProcess): void {
  if (child.pid === undefined) return;
  child.once('exit', tieToThisProcess(child.pid));
}
