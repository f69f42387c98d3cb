import { formatWithOptions } from 'node:util';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { aroundAll, beforeEach } from 'vitest';
import { endFileLogs, enableTestLogs, startTestLogs, testLog } from './helpers/test-logs.js';

// Workers inside the test processes log only what may explain a failure, and it is printed only
// when a test fails (test/helpers/test-logs.ts): a green run provokes hundreds of activity and
// workflow failures on purpose. The SDK core's own warnings are forwarded to the same logger
// rather than written straight to stderr.
Runtime.install({
  logger: new DefaultLogger('WARN', runtimeLogLine),
  telemetryOptions: { logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } } },
});
// The Runtime in use now, if any: one shut down when its last worker stopped handed its lines over then.
enableTestLogs(() => Runtime._instance?.flushLogs());

// Worker processes the tests start (src/worker.ts, npm start on a given Temporal) poll unversioned
// unless a test says otherwise: most tests finish a run they started with a worker of their own, in
// the test process, which is unversioned, and a versioned worker's runs stay with its build
// (docs/engine.md, "Releases"). The tests of Worker Versioning, and the cluster's run of the engine
// as compose runs it, set WORKER_VERSIONING=on themselves.
process.env.WORKER_VERSIONING ??= 'off';

// vitest's main process exits at once on SIGTERM or Ctrl-C, without stopping its workers; a worker
// in the middle of a file ran on, orphaned, with the processes its test started. Its IPC channel to
// vitest closes when vitest goes, however it goes: the worker stops then, and what it started,
// tied to it (scripts/watchdog.ts), goes with it.
process.once('disconnect', () => process.exit(1));

beforeEach((context) => {
  const end = startTestLogs();
  context.onTestFinished(({ task }) => end(task.result?.state === 'fail'));
});

// Around the whole file, so it runs even when one of the file's own afterAll hooks fails. vitest
// requires the (unused) fixtures argument to be an object pattern.
// eslint-disable-next-line no-empty-pattern
aroundAll(async (runSuite, {}, file) => {
  await runSuite();
  endFileLogs(file);
});

/** The line DefaultLogger writes to stderr (without colours), collected instead. */
function runtimeLogLine({ level, message, meta, timestampNanos }: LogEntry): void {
  const at = Number(timestampNanos / 1_000_000n);
  const time = new Date(at).toISOString();
  testLog(meta === undefined ? `${time} [${level}] ${message}` : `${time} [${level}] ${message} ${formatWithOptions({ colors: false }, meta)}`, at);
}
