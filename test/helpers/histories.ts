import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

/**
 * With RECORD_HISTORIES=1, saves the run's history under test/histories/ for the replay test
 * (test/replay.test.ts), which replays every saved history against today's workflow code on each run.
 * How a change to workflow code is versioned, and when histories are recorded again:
 * docs/engine.md, "Changing workflow code". After a patched change, keep the old histories (they
 * prove old runs still replay) and record the new path beside them: RECORD_HISTORIES_SUFFIX=<patch>
 * saves `<name>.<patch>.json`. RECORD_HISTORIES_DIR saves them in another folder instead: how
 * `npm run histories:release` (scripts/histories-release.ts) records a release's set.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  const suffix = process.env.RECORD_HISTORIES_SUFFIX ? `.${process.env.RECORD_HISTORIES_SUFFIX}` : '';
  const dir = process.env.RECORD_HISTORIES_DIR ? resolve(process.env.RECORD_HISTORIES_DIR) : fileURLToPath(new URL('../histories/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}${suffix}.json`), `${historyToJSON(history)}\n`);
}
