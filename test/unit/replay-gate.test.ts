import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure, describePinned, describeReport, divergence, type GateFailure } from '../../src/wiring/replay-gate.js';
import { historiesFromDir, recentRunsQuery, type GateHistory } from '../../src/wiring/replay-histories.js';

/**
 * The replay gate's pure parts: what it reads out of the SDK's replay errors, the lines it prints,
 * the runs it asks Temporal for, and a folder of histories. The replays themselves, on the previous
 * release's histories, a fixture that does not replay and the suite's dev server:
 * test/replay-gate.test.ts.
 */

/** What the SDK's `Worker.runReplayHistories` gave for replays of recorded histories (SDK 1.24), word for word. */
const SDK = {
  timerForUpsert:
    'Replay failed with a nondeterminism error. This means that the workflow code as written is not compatible with the history that was fed in. ' +
    'Details: Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism error: Timer machine does not ' +
    'handle this event: HistoryEvent(id: 8, UpsertWorkflowSearchAttributes)", source: "", stack_trace: "", encoded_attributes: None, cause: None, ' +
    'failure_info: Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "", non_retryable: false, details: None, next_retry_delay: None, ' +
    'category: Unspecified })) }), force_cause: NonDeterministicError }',
  localActivityGone:
    'Replay failed with a nondeterminism error. This means that the workflow code as written is not compatible with the history that was fed in. ' +
    'Details: Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism error: Missing associated ' +
    'machine for LocalActivity(1)", source: "", stack_trace: "", encoded_attributes: None, cause: None, failure_info: Some(ApplicationFailureInfo(' +
    'ApplicationFailureInfo { r#type: "", non_retryable: false, details: None, next_retry_delay: None, category: Unspecified })) }), force_cause: NonDeterministicError }',
  typeMissing:
    'Replay failed due workflow task failure. Details: Workflow activation completion failed: Failure { failure: Some(Failure { message: "Failed to ' +
    'initialize workflow of type \'pingWorkflow\': no such function is exported by the workflow bundle", source: "TypeScriptSDK", stack_trace: ' +
    '"bundle.js:7806\\n        throw e;\\n        ^\\n\\nTypeError: Failed to initialize workflow of type \'pingWorkflow\'", encoded_attributes: None, ' +
    'cause: None, failure_info: None }), force_cause: Unspecified }',
};

describe("divergence: what the gate reads out of a replay error's message", () => {
  it("takes the event the core names, with the core's own words and none of the SDK's wrapping", () => {
    expect(divergence(SDK.timerForUpsert)).toEqual({
      event: { id: 8, type: 'UpsertWorkflowSearchAttributes' },
      message: '[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 8, UpsertWorkflowSearchAttributes)',
    });
  });

  it('gives no event where the core names none: the message is all there is', () => {
    expect(divergence(SDK.localActivityGone)).toEqual({ message: '[TMPRL1100] Nondeterminism error: Missing associated machine for LocalActivity(1)' });
  });

  it('keeps the first message of a failed workflow task, not its stack trace', () => {
    expect(divergence(SDK.typeMissing)).toEqual({
      message: "Failed to initialize workflow of type 'pingWorkflow': no such function is exported by the workflow bundle",
    });
  });

  it('keeps a message in another shape whole', () => {
    expect(divergence('Replay failed due to internal SDK issue. Code: FATAL, Details: lost')).toEqual({ message: 'lost' });
    expect(divergence('something else')).toEqual({ message: 'something else' });
  });
});

describe('the lines the gate prints', () => {
  const run = { workflowId: 'oen-refund-P1', runId: '01a2-run', workflowType: 'refundWorkflow' };
  const diverged: GateFailure = { ...run, kind: 'nondeterminism', ...divergence(SDK.timerForUpsert) };

  it('name the type, the workflow id, the run id and the event, for each kind of failure', () => {
    expect(describeFailure(diverged)).toBe(
      'FAILED refundWorkflow oen-refund-P1 (run 01a2-run): nondeterminism at event 8 (UpsertWorkflowSearchAttributes): ' +
        '[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 8, UpsertWorkflowSearchAttributes)',
    );
    expect(describeFailure({ ...run, kind: 'nondeterminism', ...divergence(SDK.localActivityGone) })).toBe(
      'FAILED refundWorkflow oen-refund-P1 (run 01a2-run): nondeterminism (no event found): ' +
        '[TMPRL1100] Nondeterminism error: Missing associated machine for LocalActivity(1)',
    );
    expect(describeFailure({ ...run, kind: 'fetch', message: '14 UNAVAILABLE: no healthy upstream' })).toBe(
      'FAILED refundWorkflow oen-refund-P1 (run 01a2-run): history not fetched: 14 UNAVAILABLE: no healthy upstream',
    );
  });

  it('sum up per workflow type, with the verdict last', () => {
    const lines = describeReport({
      histories: 5,
      pinned: [],
      failures: [diverged, { ...run, workflowType: 'pingWorkflow', kind: 'fetch', message: 'gone' }],
      byType: { refundWorkflow: { histories: 3, failed: 1 }, pingWorkflow: { histories: 2, failed: 1 } },
    });
    expect(lines).toEqual([
      'Replayed 5 histories: 3 passed, 2 failed (1 nondeterministic, 0 other replay failures, 1 not fetched)',
      '  pingWorkflow        2 histories      1 failed',
      '  refundWorkflow      3 histories      1 failed',
      'Replay gate FAILED: 2 of 5 histories do not replay on this workflow bundle',
    ]);
    expect(describeReport({ histories: 2, pinned: [], failures: [], byType: { pingWorkflow: { histories: 2, failed: 0 } } }).at(-1)).toBe(
      'Replay gate passed: all 2 histories replay on this workflow bundle',
    );
    expect(describeReport({ histories: 0, pinned: [], failures: [], byType: {} }).at(-1)).toBe('Replay gate passed: there was no history to replay');
    expect(describeReport({ histories: 1, pinned: [], failures: [diverged], byType: { refundWorkflow: { histories: 1, failed: 1 } } })).toEqual([
      'Replayed 1 history: 0 passed, 1 failed (1 nondeterministic, 0 other replay failures, 0 not fetched)',
      '  refundWorkflow      1 history        1 failed',
      'Replay gate FAILED: 1 of 1 history does not replay on this workflow bundle',
    ]);
  });
});

describe('runs pinned to another build (--pinned-stay)', () => {
  const pinnedRun: GateFailure = {
    workflowId: 'oen-refund-P2',
    runId: '01a3-run',
    workflowType: 'refundWorkflow',
    pinnedTo: '0.1.0-aaaaaaaaaaaa',
    kind: 'nondeterminism',
    ...divergence(SDK.timerForUpsert),
  };

  it('are named with their build, as what keeps that build running', () => {
    expect(describePinned(pinnedRun)).toBe(
      'PINNED refundWorkflow oen-refund-P2 (run 01a3-run; pinned to build 0.1.0-aaaaaaaaaaaa): nondeterminism at event 8 (UpsertWorkflowSearchAttributes): ' +
        '[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 8, UpsertWorkflowSearchAttributes)' +
        " — it finishes on build 0.1.0-aaaaaaaaaaaa: keep that build's workers until it is drained",
    );
  });

  it('pass the gate with it, and are pointed at without it', () => {
    expect(describeReport({ histories: 3, pinned: [pinnedRun], failures: [], byType: { refundWorkflow: { histories: 3, failed: 0 } } })).toEqual([
      'Replayed 3 histories: 2 passed, 0 failed, 1 pinned to another build (0 nondeterministic, 0 other replay failures, 0 not fetched)',
      '  refundWorkflow      3 histories      0 failed',
      '1 pinned run does not replay here and finishes on build 0.1.0-aaaaaaaaaaaa: keep its workers until it is drained',
      'Replay gate passed: every run this workflow bundle will take replays on it (2 of 3 histories)',
    ]);
    expect(describeReport({ histories: 3, pinned: [], failures: [pinnedRun], byType: { refundWorkflow: { histories: 3, failed: 1 } } }).slice(-2)).toEqual([
      '1 of the failures is a run pinned to the build it started on: with workers under Worker Versioning, --pinned-stay lets them finish there',
      'Replay gate FAILED: 1 of 3 histories does not replay on this workflow bundle',
    ]);
  });
});

describe('recentRunsQuery: the runs the gate asks Temporal for', () => {
  const since = new Date('2026-12-01T08:00:00.000Z');

  it('every open run, and those closed at or after --since', () => {
    expect(recentRunsQuery(since)).toBe("(ExecutionStatus = 'Running' OR CloseTime >= '2026-12-01T08:00:00.000Z')");
  });

  it('narrowed by a query of its own, kept apart in brackets so that its OR cannot widen the window', () => {
    expect(recentRunsQuery(since, " WorkflowType = 'refundWorkflow' OR WorkflowType = 'pingWorkflow' ")).toBe(
      "(ExecutionStatus = 'Running' OR CloseTime >= '2026-12-01T08:00:00.000Z') AND (WorkflowType = 'refundWorkflow' OR WorkflowType = 'pingWorkflow')",
    );
    expect(recentRunsQuery(since, '  ')).toBe(recentRunsQuery(since));
  });
});

describe('historiesFromDir: a folder of recorded histories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-gate-dir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const recorded = readFileSync(new URL('../histories/pingWorkflow.hello.json', import.meta.url), 'utf8');

  it('reads every *.json of the folder and its subfolders in path order, each named by its path, with the run id and type its first event gives', () => {
    mkdirSync(join(dir, 'all', '0.1.0+aaaaaaaaaaaa'), { recursive: true });
    writeFileSync(join(dir, 'all', '0.1.0+aaaaaaaaaaaa', 'pingWorkflow.hello.json'), recorded);
    writeFileSync(
      join(dir, 'all', 'b.json'),
      '{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_TIMER_FIRED", "timerFiredEventAttributes": {"timerId": "1"}}]}',
    );
    writeFileSync(join(dir, 'all', 'c.json'), '{"events": [{"eventId": "1", "eventTy');
    writeFileSync(join(dir, 'all', 'notes.txt'), 'not a history');
    const entries = [...historiesFromDir(join(dir, 'all'))].map((entry: GateHistory) =>
      entry.kind === 'fetched' ? { ...entry, history: `${entry.history.events?.length} events` } : entry,
    );
    expect(entries).toEqual([
      {
        kind: 'fetched',
        workflowId: '0.1.0+aaaaaaaaaaaa/pingWorkflow.hello.json',
        runId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
        workflowType: 'pingWorkflow',
        history: '11 events',
      },
      { kind: 'unfetched', workflowId: 'b.json', runId: '', workflowType: 'unknown', error: 'its first event is not WorkflowExecutionStarted' },
      { kind: 'unfetched', workflowId: 'c.json', runId: '', workflowType: 'unknown', error: expect.stringMatching(/^not a history: .*JSON/) as unknown },
    ]);
  });

  it('refuses a folder with no history, or none at all: a gate given nothing has proved nothing', () => {
    mkdirSync(join(dir, 'empty'));
    expect(() => historiesFromDir(join(dir, 'empty'))).toThrow(/holds no history/);
    expect(() => historiesFromDir(join(dir, 'missing'))).toThrow(/cannot read the folder .*missing/);
  });
});
