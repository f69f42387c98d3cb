import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

const dir = new URL('histories/', import.meta.url);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort();

/**
 * Determinism guard: histories recorded from real runs (test/helpers/histories.ts) must replay
 * against the workflow code as it is now. A change that would break running workflows fails here.
 */
describe('replaying recorded workflow histories', () => {
  it('has a recorded history of every workflow type', () => {
    const types = files.map((name) => name.split('.')[0]);
    expect(new Set(types)).toEqual(
      new Set(['cancelSubscriptionWorkflow', 'pingWorkflow', 'reconcileWorkflow', 'refundOrderWorkflow', 'refundWorkflow', 'resolveWorkflow']),
    );
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file)).resolves.toBeUndefined();
  });
});
