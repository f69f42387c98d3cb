import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleCacheDir, bundleKey, prebuiltWorkflowBundle } from '../src/workflow-bundle.js';

describe('the prebuilt workflow bundle', () => {
  const cache = mkdtempSync(join(tmpdir(), 'refundflow-bundles-'));
  const env = { ...process.env, REFUNDFLOW_CACHE_DIR: cache };
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('is built once per source, in a child process, outside the clone; later starts reuse it', async () => {
    const lines: string[] = [];
    const first = await prebuiltWorkflowBundle({ withFailureConverter: false, log: (l) => lines.push(l), env });
    expect(first.codePath).toBe(join(bundleCacheDir(env), `workflows-${bundleKey(false)}.js`));
    expect(existsSync(first.codePath)).toBe(true);
    expect(lines).toEqual([`Building the workflow bundle into ${first.codePath} (once for this source)`]);

    const again = await prebuiltWorkflowBundle({ withFailureConverter: false, log: (l) => lines.push(l), env });
    expect(again).toEqual(first);
    expect(lines).toHaveLength(1);
  });

  it('has a key of its own with the failure converter in it', () => {
    expect(bundleKey(true)).not.toBe(bundleKey(false));
    expect(bundleKey(false)).toBe(bundleKey(false));
  });
});
