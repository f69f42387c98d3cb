import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees only its default export

/**
 * Where the replay gate's histories come from (src/wiring/replay-gate.ts replays them): a Temporal
 * namespace's open and recently closed runs, or a folder of histories as the tests record them
 * (test/helpers/histories.ts). A history that cannot be had is handed on as `unfetched`, with why,
 * so that the gate counts it as a failure: a gate that skipped what it could not read would pass
 * without having looked.
 */

/** Which run a history is of. A recorded history names no workflow id: its file stands in for it. */
export interface RunRef {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** The build a PINNED run stays on (Worker Versioning, docs/engine.md "Releases"), as visibility has it; unset for other runs and recorded histories. */
  pinnedTo?: string;
}

export type GateHistory = (RunRef & { kind: 'fetched'; history: History }) | (RunRef & { kind: 'unfetched'; error: string });

/** What the gate's sources hand it, one history at a time. */
export type GateHistories = Iterable<GateHistory> | AsyncIterable<GateHistory>;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The visibility query for the runs whose histories matter to a release: every open run (the new
 * workers will carry on with it) and every run closed at or after `since` (a query or a reset of it
 * replays it too), narrowed by `filter` (a visibility query of its own, e.g. `WorkflowType =
 * 'refundWorkflow'`) when one is given.
 */
export function recentRunsQuery(since: Date, filter?: string): string {
  const recent = `(ExecutionStatus = 'Running' OR CloseTime >= '${since.toISOString()}')`;
  return filter?.trim() ? `${recent} AND (${filter.trim()})` : recent;
}

/**
 * The histories of the runs `query` finds in `client`'s namespace, in the order visibility lists
 * them. Up to `lookahead` are fetched ahead of the one being replayed. A failed listing throws (there
 * is then no knowing what was missed); a history that cannot be fetched is `unfetched`.
 */
export async function* historiesFromTemporal(client: Client, query: string, lookahead = 4): AsyncGenerator<GateHistory> {
  const fetching: Array<Promise<GateHistory>> = [];
  for await (const run of client.workflow.list({ query })) {
    fetching.push(fetchHistory(client, run));
    if (fetching.length >= lookahead) yield await (fetching.shift() as Promise<GateHistory>);
  }
  for (const next of fetching) yield await next;
}

/**
 * The build a PINNED run stays on: from the listing's versioning info where Temporal gives it, else
 * from its own search attributes (`TemporalWorkflowVersioningBehavior`, `TemporalWorkerDeploymentVersion`
 * = `<deployment>:<build>`), which SQL visibility lists.
 */
function pinnedBuildOf(run: WorkflowExecutionInfo): string | undefined {
  const versioning = run.raw.versioningInfo;
  if (versioning?.behavior === proto.temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED) {
    return versioning.deploymentVersion?.buildId ?? undefined;
  }
  const attributes = run.searchAttributes;
  const [behavior] = attributes.TemporalWorkflowVersioningBehavior ?? [];
  const [version] = attributes.TemporalWorkerDeploymentVersion ?? [];
  if (behavior !== 'Pinned' || typeof version !== 'string' || !version.includes(':')) return undefined;
  return version.slice(version.indexOf(':') + 1);
}

/** Never rejects: a failure is the history's `unfetched` entry. */
async function fetchHistory(client: Client, run: WorkflowExecutionInfo): Promise<GateHistory> {
  const pinnedTo = pinnedBuildOf(run);
  const ref = { workflowId: run.workflowId, runId: run.runId, workflowType: run.type, ...(pinnedTo && { pinnedTo }) };
  try {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    if (!history.events?.length) return { ...ref, kind: 'unfetched', error: 'Temporal returned a history with no events' };
    return { ...ref, kind: 'fetched', history };
  } catch (err) {
    return { ...ref, kind: 'unfetched', error: messageOf(err) };
  }
}

/**
 * The histories in `dir` and its subfolders (`*.json`, in the format test/helpers/histories.ts
 * writes), in path order, each named by its path under `dir`; read one at a time. A folder with none
 * throws: a gate given nothing to replay has proved nothing.
 */
export function historiesFromDir(dir: string): Iterable<GateHistory> {
  const files = jsonFiles(dir);
  if (files.length === 0) throw new Error(`${dir} holds no history (*.json)`);
  return (function* () {
    for (const file of files) yield historyFile(file, relative(dir, file));
  })();
}

function jsonFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new Error(`cannot read the folder ${dir}: ${messageOf(err)}`);
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

function historyFile(path: string, name: string): GateHistory {
  try {
    const history = historyFromJSON(JSON.parse(readFileSync(path, 'utf8')));
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) return { workflowId: name, runId: '', workflowType: 'unknown', kind: 'unfetched', error: 'its first event is not WorkflowExecutionStarted' };
    return { workflowId: name, runId: started.originalExecutionRunId ?? '', workflowType: started.workflowType?.name ?? 'unknown', kind: 'fetched', history };
  } catch (err) {
    return { workflowId: name, runId: '', workflowType: 'unknown', kind: 'unfetched', error: `not a history: ${messageOf(err)}` };
  }
}
