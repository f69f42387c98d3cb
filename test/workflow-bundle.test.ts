import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

  it('holds no zod, no schema module and no provider, ledger or activity code: only the workflows and the zod-free domain', async () => {
    const { codePath } = await prebuiltWorkflowBundle({ withFailureConverter: false, log: () => undefined, env });
    const code = readFileSync(codePath, 'utf8');
    const modules = [...code.matchAll(/^\/\*\*\*\/ "(\.\/[^"]+)"/gm)].map((m) => m[1]!);
    expect(modules.filter((m) => m.includes('/zod/'))).toEqual([]);
    // Every module of ours in the bundle, by name: a new import into workflow code shows up here.
    expect(modules.filter((m) => m.startsWith('./src/')).sort()).toEqual([
      './src/domain/actor.ts',
      './src/domain/decision-proof.ts',
      './src/domain/failures.ts',
      './src/domain/format.ts',
      './src/domain/four-eyes.ts',
      './src/domain/guards.ts',
      './src/domain/operator.ts',
      './src/domain/order.ts',
      './src/domain/outcome-delivery.ts',
      './src/domain/policy.ts',
      './src/domain/provider-call.ts',
      './src/domain/reconcile-decision.ts',
      './src/domain/reconcile.ts',
      './src/domain/refund-start.ts',
      './src/domain/resolution.ts',
      './src/domain/search-attributes.ts',
      './src/workflows/activity-options.ts',
      './src/workflows/cancel-subscription.ts',
      './src/workflows/decided-by.ts',
      './src/workflows/decisions.ts',
      './src/workflows/index.ts',
      './src/workflows/messages.ts',
      './src/workflows/ping.ts',
      './src/workflows/provider-calls.ts',
      './src/workflows/reconcile.ts',
      './src/workflows/refund-order.ts',
      './src/workflows/refund-view.ts',
      './src/workflows/refund.ts',
      './src/workflows/resolve-view.ts',
      './src/workflows/resolve.ts',
      './src/workflows/second-person.ts',
      './src/workflows/steps.ts',
      './src/workflows/validation.ts',
    ]);
    // Of other packages, only the SDK's (and what it uses) and the Ed25519 check of operator decisions (pure JS).
    const packages = new Set(modules.filter((m) => m.includes('node_modules/')).map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m)?.[1]));
    expect([...packages].filter((p) => !p?.startsWith('@temporalio/')).sort()).toEqual(['@noble/ed25519', '@noble/hashes', 'long', 'ms', 'nexus-rpc']);
    // With zod it was 2.97 MB (119 modules, 19 of them zod's); without, 1.85 MB; the decision check
    // (@noble/ed25519 and its SHA-512) adds 0.33 MB. The SDK itself is most of it. Our own workflow
    // code grows by kilobytes (four eyes' counting: 2.30 MB; the fewer steps and the Worker
    // Versioning behaviors of src/workflows/index.ts: 2.40 MB); a package pulled in would add far more.
    expect(code.length).toBeLessThan(2_450_000);
  });

  it('preloads the decision check (and the Ed25519 library under it) once per worker thread, rather than once per run', async () => {
    const { codePath } = await prebuiltWorkflowBundle({ withFailureConverter: false, log: () => undefined, env });
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(readFileSync(codePath, 'utf8'))?.[1] ?? '';
    // A module the bundler kept: a bare require of a package free of side effects becomes `0;`.
    expect([...preload.matchAll(/__webpack_require__\([^)]*"([^"]+)"\)/g)].map((m) => m[1])).toEqual(['./src/domain/decision-proof.ts']);
  });
});
