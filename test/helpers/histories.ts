import { writeFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

/**
 * With RECORD_HISTORIES=1, saves the run's history under test/histories/ for the replay test
 * (test/replay.test.ts), which replays every saved history against today's workflow code on each run.
 * How a change to workflow code is versioned, and when histories are recorded again:
 * docs/engine.md, "Changing workflow code". After a patched change, keep the old histories (they
 * prove old runs still replay) and record the new path beside them: RECORD_HISTORIES_SUFFIX=<patch>
 * saves `<name>.<patch>.json`.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  const suffix = process.env.RECORD_HISTORIES_SUFFIX ? `.${process.env.RECORD_HISTORIES_SUFFIX}` : '';
  writeFileSync(new URL(`../histories/${name}${suffix}.json`, import.meta.url), `${historyToJSON(history)}\n`);
}
