import type { RunnerTask } from 'vitest';

/**
 * Output that explains a failure and is noise otherwise: the Temporal Runtime's log lines (the
 * workers inside a test process warn of every activity and workflow failure, most of which the
 * tests provoke on purpose) and the output of processes a test starts (test/helpers/process.ts).
 *
 * test/setup-file.ts turns collection on for each test file. What comes while a test runs belongs to
 * that test (to each of them, in a describe.concurrent) and is printed after it only when it failed;
 * what comes while no test runs (beforeAll, afterAll, between tests) is printed at the end of the
 * file when anything in the file failed. TEST_LOGS=all prints it after every test, passed or not.
 */

/** A line, or a process's output, read when it is printed. */
type Entry = string | (() => string);

/** The most of one process's output printed, from its end. */
const PROCESS_OUTPUT_TAIL = 50_000;
const printAll = process.env.TEST_LOGS === 'all';
let enabled = false;
/**
 * Hands over the log lines the Temporal Runtime still holds: it keeps each line 100 ms to sort
 * them, so a failure's last lines would otherwise come after they are printed. Set by
 * enableTestLogs.
 */
let flushRuntimeLogs: () => void = () => undefined;
/** The tests running now: when each started, and what it collected. */
const running = new Set<{ since: number; entries: Entry[] }>();
let outside: Entry[] = [];

/**
 * `at` is when the entry was made (ms since the epoch): a Runtime log line arrives late (see
 * flushRuntimeLogs), and one made before a test started is not that test's but the file's.
 */
function collect(entry: Entry, at = Date.now()): void {
  let taken = false;
  for (const test of running) {
    if (test.since > at) continue;
    test.entries.push(entry);
    taken = true;
  }
  if (!taken) outside.push(entry);
}

function print(entries: Entry[], heading: string): void {
  // The lines the Runtime holds join `entries` now. A line of the SDK core still on its way (the
  // core sends its lines every 10 ms) comes once the test is over: it is printed with the file's.
  flushRuntimeLogs();
  if (entries.length === 0) return;
  const text = entries.map((entry) => (typeof entry === 'string' ? entry : entry())).join('\n');
  // console, not process.stderr: vitest shows it under the test (or file) it belongs to.
  console.error(`${heading}\n${text}`);
}

/** `flush` hands over the log lines the Temporal Runtime still holds (Runtime.flushLogs). */
export function enableTestLogs(flush: () => void): void {
  enabled = true;
  flushRuntimeLogs = flush;
}

/** A log line made at `at` (ms since the epoch); straight to stderr when collection is off (outside vitest). */
export function testLog(line: string, at: number): void {
  if (enabled) collect(line, at);
  else process.stderr.write(`${line}\n`);
}

/** A process's output, printed (as it is by then) with the logs of the test that started it. */
export function testProcessOutput(description: string, output: () => string): void {
  if (!enabled) return;
  collect(() => {
    const text = output();
    const tail = text.slice(-PROCESS_OUTPUT_TAIL);
    const omitted = tail.length < text.length ? ` (its last ${PROCESS_OUTPUT_TAIL} characters)` : '';
    return `--- output of ${description}${omitted} ---\n${tail}${tail.endsWith('\n') || !tail ? '' : '\n'}--- end of output of ${description} ---`;
  });
}

/** Starts collecting for a test; the returned function ends it, printing what came if it failed. */
export function startTestLogs(): (failed: boolean) => void {
  const test = { since: Date.now(), entries: [] as Entry[] };
  running.add(test);
  return (failed) => {
    if (failed || printAll) print(test.entries, 'Logs and process output of this test:');
    running.delete(test);
  };
}

function hasFailed(task: RunnerTask): boolean {
  if (task.result?.state === 'fail' || (task.result?.errors?.length ?? 0) > 0) return true;
  return task.type === 'suite' && task.tasks.some(hasFailed);
}

/** At the end of a file: prints what came outside its tests if anything in it failed. */
export function endFileLogs(file: RunnerTask): void {
  if (hasFailed(file) || printAll) print(outside, 'Logs and process output of this file outside its tests (hooks, between tests):');
  outside = [];
}
