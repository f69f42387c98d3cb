import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees only its default export
import type { GateHistories, RunRef } from './replay-histories.js';

const { EventType } = proto.temporal.api.enums.v1;

/**
 * The replay gate (`npm run replay:gate`; docs/engine.md, "Changing workflow code"): replays
 * histories against the workflow bundle about to ship, as a worker of it would replay them after
 * the release, and reports every one that does not replay. Histories of the runs that will still be
 * open when the new workers take over, replayed before the release, find an incompatible change
 * where the replay test's recorded paths may not.
 */

/**
 * Why a history fails the gate: `nondeterminism`, the code gives other commands than the history
 * holds; `replay`, its workflow task failed on replay for another reason (a workflow type the bundle
 * lacks, a payload it cannot decode); `fetch`, it could not be had at all.
 */
export interface GateFailure extends RunRef {
  kind: 'nondeterminism' | 'replay' | 'fetch';
  /**
   * The first event that did not match the code: as the SDK's message names it, or, when it names
   * none, found by replaying the history up to each workflow task (`firstDivergingEvent`).
   */
  event?: { id: number; type: string };
  /** The SDK's own words for it (without its wrapping), or why the history could not be fetched. */
  message: string;
}

export interface TypeCount {
  histories: number;
  failed: number;
}

export interface GateReport {
  /** Every history the gate was given, fetched or not. */
  histories: number;
  failures: GateFailure[];
  /**
   * With `pinnedStay`: the runs that do not replay on the bundle but are pinned to another build,
   * which they finish on (Worker Versioning): no failure, and the reason that build's workers must
   * run until it is drained.
   */
  pinned: GateFailure[];
  byType: Record<string, TypeCount>;
}

export interface GateOptions {
  histories: GateHistories;
  /** The bundle the workers will run: `prebuiltWorkflowBundle` (src/workflow-bundle.ts) for this code. */
  workflowBundle: { codePath: string };
  /** The worker's (`workerDataConverter`): encrypted payloads are decoded as the worker would decode them. */
  dataConverter?: ReplayWorkerOptions['dataConverter'];
  /** Each failure, as it is found. */
  onFailure?: (failure: GateFailure) => void;
  /** With `pinnedStay`, each run that does not replay but stays on its build, as it is found. */
  onPinned?: (run: GateFailure) => void;
  /** The report so far, after every `progressEvery` histories. */
  onProgress?: (report: GateReport) => void;
  progressEvery?: number;
  /**
   * The workers run with Worker Versioning (docs/engine.md, "Releases"): a run pinned to a build
   * other than `shippingBuild` never runs on this bundle, so its nondeterminism is reported in
   * `pinned`, not as a failure. Unset: every nondeterminism fails the gate.
   */
  pinnedStay?: { shippingBuild: string };
}

/** Replays every history of `histories` on one replay worker, one at a time; never throws for a history. */
export async function runReplayGate({
  histories,
  workflowBundle,
  dataConverter,
  onFailure,
  onProgress,
  progressEvery = 50,
  pinnedStay,
  onPinned,
}: GateOptions): Promise<GateReport> {
  const report: GateReport = { histories: 0, failures: [], pinned: [], byType: {} };
  const count = (run: RunRef, failure?: GateFailure) => {
    const counts = (report.byType[run.workflowType] ??= { histories: 0, failed: 0 });
    counts.histories += 1;
    report.histories += 1;
    const staysPinned = failure?.kind === 'nondeterminism' && pinnedStay && run.pinnedTo !== undefined && run.pinnedTo !== pinnedStay.shippingBuild;
    if (failure && staysPinned) {
      report.pinned.push(failure);
      onPinned?.(failure);
    } else if (failure) {
      counts.failed += 1;
      report.failures.push(failure);
      onFailure?.(failure);
    }
    if (report.histories % progressEvery === 0) onProgress?.(report);
  };

  // runReplayHistories takes the next history only after it has answered for the one before: the
  // answer that comes is always for the history last handed over.
  let replaying: RunRef | undefined;
  let replayingHistory: History | undefined;
  async function* toReplay() {
    for await (const entry of histories) {
      const { workflowId, runId, workflowType, pinnedTo } = entry;
      const run = { workflowId, runId, workflowType, ...(pinnedTo !== undefined && { pinnedTo }) };
      if (entry.kind === 'unfetched') {
        count(run, { ...run, kind: 'fetch', message: entry.error });
        continue;
      }
      replaying = run;
      replayingHistory = entry.history;
      yield { workflowId, history: entry.history };
    }
  }
  const options: ReplayWorkerOptions = { workflowBundle, replayName: 'replay-gate', ...(dataConverter && { dataConverter }) };
  for await (const result of Worker.runReplayHistories(options, toReplay())) {
    const run = replaying ?? { workflowId: result.workflowId, runId: result.runId, workflowType: 'unknown' };
    if (!result.error) {
      count(run);
      continue;
    }
    const kind = result.error instanceof DeterminismViolationError ? 'nondeterminism' : 'replay';
    const said = divergence(result.error.message);
    const event =
      kind === 'nondeterminism' && !said.event && replayingHistory ? await firstDivergingEvent(options, replayingHistory, run.workflowId) : undefined;
    count(run, { ...run, kind, ...said, ...(event && { event }) });
  }
  return report;
}

/**
 * The first event of a history that does not match the code, found by replaying prefixes of it: the
 * SDK's message does not always name one ("Non-deprecated patch marker encountered for change …",
 * "Missing associated machine for LocalActivity(1)"). First the workflow task: the shortest prefix
 * ending with a whole task (its completion and the events its commands made) that fails ends with
 * the task whose commands differ. Then, within that task, the shortest prefix that still fails ends
 * with the first of its events the code does not make (commands past a history's end are new ones
 * to the replay, not a divergence). Each is a binary search: a few replays for a failing history.
 * Undefined when no prefix fails alone.
 */
export async function firstDivergingEvent(
  options: ReplayWorkerOptions,
  history: History,
  workflowId: string,
): Promise<{ id: number; type: string } | undefined> {
  const events = history.events ?? [];
  // Each prefix ends with a workflow task's completion and the events its commands made (each names
  // that completion: workflowTaskCompletedEventId), as an open run's history does: a prefix ending
  // on an event that asks for another task (an activity's result, a timer fired) would leave the
  // replay waiting for it.
  const madeBy = (event: (typeof events)[number]) =>
    Object.values(event).find(
      (value): value is { workflowTaskCompletedEventId?: unknown } => typeof value === 'object' && value !== null && 'workflowTaskCompletedEventId' in value,
    )?.workflowTaskCompletedEventId;
  const cuts: number[] = [];
  events.forEach((event, i) => {
    if (event.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) return;
    let end = i + 1;
    while (end < events.length && String(madeBy(events[end] ?? {})) === String(event.eventId)) end += 1;
    cuts.push(end);
  });
  if (cuts.length === 0) return undefined;
  const fails = async (length: number) => {
    try {
      await Worker.runReplayHistory(options, { ...history, events: events.slice(0, length) }, workflowId);
      return false;
    } catch {
      return true;
    }
  };
  let [low, high] = [0, cuts.length - 1];
  if (!(await fails(cuts[high] ?? events.length))) return undefined;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (await fails(cuts[middle] ?? events.length)) high = middle;
    else low = middle + 1;
  }
  // The task whose commands differ is the last one of the shortest failing prefix; within it, the
  // first of its events the code does not make is the end of the shortest prefix that still fails
  // (the replay takes commands past a history's end as new ones, not as a divergence).
  const end = cuts[low] ?? events.length;
  const completed = events.slice(0, end).findLastIndex((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  let [first, last] = [completed + 1, end];
  while (first < last) {
    const middle = Math.floor((first + last) / 2);
    if (await fails(middle + 1)) last = middle;
    else first = middle + 1;
  }
  const at = events[Math.min(first, end - 1)] ?? events[completed];
  if (!at) return undefined;
  const type = EventType[at.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED].replace(/^EVENT_TYPE_/, '');
  return { id: Number(at.eventId), type: type.toLowerCase().replace(/(^|_)(\w)/g, (_m, _s: string, c: string) => c.toUpperCase()) };
}

/**
 * What a replay error's message says went wrong. The SDK wraps the core's words ("Replay failed with
 * a nondeterminism error. … Details: Workflow activation completion failed: Failure { failure:
 * Some(Failure { message: "…", … }) … }"); the words are what is kept. The core names the event
 * that did not match when its check was of one ("Timer machine does not handle this event:
 * HistoryEvent(id: 8, UpsertWorkflowSearchAttributes)"), and not otherwise ("Missing associated
 * machine for LocalActivity(1)", a local activity the code no longer makes where the history has
 * one): then there is no event id to give, and the message is all the gate reports.
 */
export function divergence(message: string): Pick<GateFailure, 'event' | 'message'> {
  const details = message.includes('Details: ') ? message.slice(message.indexOf('Details: ') + 'Details: '.length) : message;
  const quoted = /message: "((?:[^"\\]|\\.)*)"/.exec(details)?.[1];
  const words = quoted === undefined ? details : quoted.replace(/\\(.)/g, '$1');
  const event = /HistoryEvent\(id: (\d+), (\w+)/.exec(words);
  return { ...(event && { event: { id: Number(event[1]), type: event[2] ?? '' } }), message: words.trim() };
}

/** One line for a failure: which run, and where and how it diverged. */
export function describeFailure(failure: GateFailure): string {
  return `FAILED ${describeDivergence(failure)}`;
}

/** One line for a run in `report.pinned`: it does not replay here, and finishes on its own build. */
export function describePinned(run: GateFailure): string {
  return `PINNED ${describeDivergence(run)} — it finishes on build ${run.pinnedTo ?? '?'}: keep that build's workers until it is drained`;
}

function describeDivergence(failure: GateFailure): string {
  const where = [...(failure.runId ? [`run ${failure.runId}`] : []), ...(failure.pinnedTo ? [`pinned to build ${failure.pinnedTo}`] : [])];
  const run = `${failure.workflowType} ${failure.workflowId}${where.length > 0 ? ` (${where.join('; ')})` : ''}`;
  const what = {
    nondeterminism: failure.event ? `nondeterminism at event ${failure.event.id} (${failure.event.type})` : 'nondeterminism (no event found)',
    replay: 'replay failed',
    fetch: 'history not fetched',
  }[failure.kind];
  return `${run}: ${what}: ${failure.message}`;
}

/** One line of progress: how many so far, how many failed. */
export function describeProgress(report: GateReport): string {
  return `… ${report.histories} histories, ${report.failures.length} failed so far`;
}

/** "1 history", "2 histories". */
const histories = (n: number) => `${n} ${n === 1 ? 'history' : 'histories'}`;

/** The summary: totals, each workflow type's, and the verdict on the last line. */
export function describeReport(report: GateReport): string[] {
  const of = (kind: GateFailure['kind']) => report.failures.filter((failure) => failure.kind === kind).length;
  const types = Object.keys(report.byType).sort();
  const width = Math.max(0, ...types.map((type) => type.length));
  const failed = report.failures.length;
  const pinned = report.pinned.length;
  const lines = [
    `Replayed ${histories(report.histories)}: ${report.histories - failed - pinned} passed, ${failed} failed` +
      `${pinned > 0 ? `, ${pinned} pinned to another build` : ''} ` +
      `(${of('nondeterminism')} nondeterministic, ${of('replay')} other replay failures, ${of('fetch')} not fetched)`,
    ...types.map((type) => {
      const counts = report.byType[type] ?? { histories: 0, failed: 0 };
      return `  ${type.padEnd(width)}  ${String(counts.histories).padStart(5)} ${counts.histories === 1 ? 'history  ' : 'histories'}  ${String(counts.failed).padStart(5)} failed`;
    }),
  ];
  if (pinned > 0) {
    const builds = [...new Set(report.pinned.map((run) => run.pinnedTo))].join(', ');
    const [does, finishes] = pinned === 1 ? ['run does', 'finishes'] : ['runs do', 'finish'];
    lines.push(`${pinned} pinned ${does} not replay here and ${finishes} on build ${builds}: keep its workers until it is drained`);
  }
  const pinnedAmongFailed = report.failures.filter((failure) => failure.pinnedTo !== undefined && failure.kind === 'nondeterminism').length;
  if (pinnedAmongFailed > 0) {
    lines.push(
      `${pinnedAmongFailed} of the failures ${pinnedAmongFailed === 1 ? 'is a run' : 'are runs'} pinned to the build ${pinnedAmongFailed === 1 ? 'it' : 'they'} started on: ` +
        'with workers under Worker Versioning, --pinned-stay lets them finish there',
    );
  }
  if (failed > 0)
    lines.push(`Replay gate FAILED: ${failed} of ${histories(report.histories)} ${failed === 1 ? 'does' : 'do'} not replay on this workflow bundle`);
  else if (report.histories === 0) lines.push('Replay gate passed: there was no history to replay');
  else if (pinned > 0)
    lines.push(`Replay gate passed: every run this workflow bundle will take replays on it (${report.histories - pinned} of ${histories(report.histories)})`);
  else
    lines.push(
      `Replay gate passed: ${report.histories === 1 ? 'the one history replays' : `all ${report.histories} histories replay`} on this workflow bundle`,
    );
  return lines;
}
