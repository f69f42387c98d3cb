/**
 * `npm run replay:gate`: replays the histories of open and recently closed runs against the workflow
 * bundle of this code, before it ships (docs/engine.md, "Changing workflow code"). The gate itself is
 * src/wiring/replay-gate.ts; this reads the options and the environment, prints, and sets the exit
 * code: 0 every history replays, 1 one does not (or could not be fetched), 2 a usage or configuration
 * mistake, 3 the gate could not run (Temporal unreachable, the listing refused, no bundle).
 */
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DurationError, formatDuration, parseDuration } from '../src/cli/durations.js';
import { clientDataConverter, workerDataConverter } from '../src/codec/data-converter.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { currentRelease } from '../src/release.js';
import { describeFailure, describePinned, describeProgress, describeReport, runReplayGate } from '../src/wiring/replay-gate.js';
import { historiesFromDir, historiesFromTemporal, recentRunsQuery, type GateHistories } from '../src/wiring/replay-histories.js';
import { connectClient } from '../src/wiring/temporal-connect.js';
import { describeTemporalConnection, temporalConnection } from '../src/wiring/temporal-connection.js';
import { prebuiltWorkflowBundle } from '../src/workflow-bundle.js';

const USAGE = `usage: npm run replay:gate [-- --since 7d] [--query '<visibility query>'] [--bundle <file>]
       npm run replay:gate -- --dir <folder> [--bundle <file>]

  --since <duration>  runs closed this long ago or later, beside every open run (default 7d; 90s, 15m, 1h, 2d)
  --query <query>     only the runs this visibility query also finds, e.g. "WorkflowType = 'refundWorkflow'"
  --dir <folder>      the JSON histories in this folder and its subfolders instead of a Temporal's
                      (as test/helpers/histories.ts records them, e.g. test/histories/releases)
  --bundle <file>     replay against this workflow bundle instead of this code's own
  --every <n>         a progress line every n histories (default 50)
  --pinned-stay       the workers run with Worker Versioning: a run pinned to another build, which it
                      finishes on, is listed (PINNED: keep that build's workers until it is drained)
                      and does not fail the gate; every other run that does not replay still does

Temporal is reached as by every process of the engine: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, the
TEMPORAL_TLS_* settings, TEMPORAL_API_KEY, a TEMPORAL_PROFILE; PAYLOAD_ENCRYPTION_KEYS decodes
encrypted payloads as the worker does.`;

class UsageError extends Error {}

function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      since: { type: 'string' },
      query: { type: 'string' },
      dir: { type: 'string' },
      bundle: { type: 'string' },
      every: { type: 'string' },
      'pinned-stay': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.dir !== undefined && (values.since !== undefined || values.query !== undefined || values['pinned-stay'])) {
    throw new UsageError('--dir replays a folder of histories: --since, --query and --pinned-stay are for a Temporal');
  }
  let sinceMs = 7 * 86_400_000;
  try {
    if (values.since !== undefined) sinceMs = parseDuration(values.since);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--since ${err.message}`);
    throw err;
  }
  const every = values.every === undefined ? 50 : Number(values.every);
  if (!Number.isInteger(every) || every < 1) throw new UsageError('--every must be a whole number of histories, at least 1');
  return { ...values, sinceMs, every };
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof options>;
  let config: ReturnType<typeof loadConfig>;
  try {
    opts = options(process.argv.slice(2));
    if (opts.help) {
      console.log(USAGE);
      return 0;
    }
    // Only what the gate uses: the keys, checked as the worker checks them (no example key outside development).
    config = loadConfig({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, PAYLOAD_ENCRYPTION_KEYS: process.env.PAYLOAD_ENCRYPTION_KEYS }, { npmStart: true });
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof ConfigError || (err instanceof TypeError && 'code' in err))) throw err;
    console.error(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  // The SDK's own lines (a warning for each workflow task that fails to replay) would repeat the report's.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { forward: {}, filter: { core: 'ERROR', other: 'ERROR' } } } });

  const encrypted = config.PAYLOAD_ENCRYPTION_KEYS !== undefined;
  const workflowBundle = opts.bundle
    ? { codePath: opts.bundle }
    : await prebuiltWorkflowBundle({ withFailureConverter: encrypted, log: (line) => console.log(line) });
  let histories: GateHistories;
  let close = async () => {};
  if (opts.dir !== undefined) {
    histories = historiesFromDir(opts.dir);
    console.log(`Replaying the histories in ${opts.dir} against ${workflowBundle.codePath}`);
  } else {
    const temporal = temporalConnection(process.env);
    const connection = await connectClient(temporal);
    close = () => connection.close();
    const client = new Client({ connection, namespace: temporal.namespace, dataConverter: clientDataConverter(config) });
    const since = new Date(Date.now() - opts.sinceMs);
    const query = recentRunsQuery(since, opts.query);
    histories = historiesFromTemporal(client, query);
    console.log(
      `Replaying the runs open, or closed in the last ${formatDuration(opts.sinceMs)} (since ${since.toISOString()}), on ${describeTemporalConnection(temporal)} ` +
        `against ${workflowBundle.codePath}\n  query: ${query}`,
    );
  }
  try {
    const report = await runReplayGate({
      histories,
      workflowBundle,
      dataConverter: workerDataConverter(config),
      onFailure: (failure) => console.log(describeFailure(failure)),
      onPinned: (run) => console.log(describePinned(run)),
      // The build this code's workers poll as (src/release.ts): a run pinned to it runs on this bundle.
      ...(opts['pinned-stay'] && { pinnedStay: { shippingBuild: currentRelease().buildId } }),
      onProgress: (sofar) => console.log(describeProgress(sofar)),
      progressEvery: opts.every,
    });
    for (const line of describeReport(report)) console.log(line);
    return report.failures.length === 0 ? 0 : 1;
  } finally {
    await close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  const message = err instanceof ConfigError ? err.message : `the replay gate could not run: ${err instanceof Error ? err.message : String(err)}`;
  console.error(message);
  process.exitCode = err instanceof ConfigError ? 2 : 3;
}
