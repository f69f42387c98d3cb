import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { layerRule } from '../eslint/layers.mjs';

/** Lints one fixture under test/fixtures/workflow-lint, which gets the rules of src/workflows. */
async function ruleIdsFor(fixture: string): Promise<string[]> {
  // The fixtures are ignored by `npm run lint` (they are meant to fail); lint them here on purpose.
  const eslint = new ESLint({ ignore: false });
  const [result] = await eslint.lintFiles([`test/fixtures/workflow-lint/${fixture}`]);
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

describe('determinism guards on workflow code', () => {
  it('refuse Node built-ins', async () => {
    expect(await ruleIdsFor('node-builtin.ts')).toEqual(['no-restricted-imports']);
  });

  it('refuse importing activities as values', async () => {
    expect(await ruleIdsFor('activity-value-import.ts')).toEqual(['no-restricted-imports']);
  });

  it('refuse floating promises', async () => {
    expect(await ruleIdsFor('floating-promise.ts')).toEqual(['@typescript-eslint/no-floating-promises']);
  });

  it('refuse Math.random and process', async () => {
    expect((await ruleIdsFor('nondeterminism.ts')).sort()).toEqual(['no-restricted-globals', 'no-restricted-properties']);
  });

  it('refuse zod (no schema module in the workflow bundle)', async () => {
    expect(await ruleIdsFor('zod-import.ts')).toEqual(['no-restricted-imports']);
  });

  it('accept a workflow that keeps to the rules', async () => {
    expect(await ruleIdsFor('clean.ts')).toEqual([]);
  });
});

describe('the layers of src/ (eslint/layers.mjs)', () => {
  /** Lints `code` as if it were the file at `path` under src/, with the layer rule alone. */
  async function layerErrors(path: string, code: string): Promise<string[]> {
    const eslint = new ESLint({
      overrideConfigFile: true,
      overrideConfig: [
        {
          files: ['**/*.ts'],
          languageOptions: { parser: tseslint.parser },
          plugins: { refundflow: { rules: { layers: layerRule } } },
          rules: { 'refundflow/layers': 'error' },
        },
      ],
    });
    const [result] = await eslint.lintText(code, { filePath: path });
    return (result?.messages ?? []).map((m) => m.message);
  }

  it('refuse the two upward imports the code had before the layers were enforced', async () => {
    // src/domain/refund.ts took the contract's parts from Oen's wire schema ...
    expect(await layerErrors('src/domain/refund.ts', "import { oenRefundRequest } from '../providers/oen/schemas.js';")).toEqual([
      'domain may not import providers (../providers/oen/schemas.js): layers import only downward (docs/engine.md, "Layers").',
    ]);
    // ... and the outcome activity signed with the API's module.
    expect(await layerErrors('src/activities/outcome.ts', "import { Signer } from '../api/signature.js';")).toHaveLength(1);
  });

  it('keep providers and the ledger off each other, the config and the top layers', async () => {
    expect(await layerErrors('src/providers/rate-limit.ts', "import type { Queryable } from '../ledger/database.js';")).toHaveLength(1);
    expect(await layerErrors('src/ledger/index.ts', "import type { Config } from '../config.js';")).toHaveLength(1);
    expect(await layerErrors('src/providers/oen/client.ts', "import { pan } from '../../domain/pan.js';")).toEqual([]);
  });

  it('let workflows import schema and activity types, never their values', async () => {
    const file = 'src/workflows/refund.ts';
    expect(await layerErrors(file, "import type { RefundRecord } from '../domain/schemas/refund-record.js';")).toEqual([]);
    expect(await layerErrors(file, "import type { Activities } from '../activities/index.js';")).toEqual([]);
    expect(await layerErrors(file, "import { refundRecord } from '../domain/schemas/refund-record.js';")).toHaveLength(1);
    expect(await layerErrors(file, "import { finalErrorTypes } from '../providers/final-error-types.js';")).toHaveLength(1);
    expect(await layerErrors(file, "import type { TransitionFields } from '../ledger/refunds.js';")).toHaveLength(1);
  });

  it('keep zod out of the zod-free domain and workflows, and count only `import type` as types', async () => {
    expect(await layerErrors('src/domain/format.ts', "import { z } from 'zod';")).toHaveLength(1);
    expect(await layerErrors('src/domain/schemas/ping.ts', "import { z } from 'zod';")).toEqual([]);
    expect(await layerErrors('src/workflows/refund.ts', "import { type RefundRecord } from '../domain/schemas/refund-record.js';")).toHaveLength(1);
  });

  it('hold the top floors too: no product code imports the sandbox, and wiring and the client stay below the API', async () => {
    // The two sandbox imports product code had, and the API type the wiring took.
    expect(await layerErrors('src/wiring/providers.ts', "import { SANDBOX_TOKEN } from '../sandbox/defaults.js';")).toEqual([
      'wiring may not import sandbox (../sandbox/defaults.js): layers import only downward (docs/engine.md, "Layers").',
    ]);
    expect(await layerErrors('src/cli/tool-commands.ts', "import { randomHid } from '../sandbox/oen.js';")).toHaveLength(1);
    expect(await layerErrors('src/api/main.ts', "import { startSandboxes } from '../sandbox/index.js';")).toHaveLength(1);
    expect(await layerErrors('src/worker.ts', "import { startSandboxes } from './sandbox/index.js';")).toHaveLength(1);
    expect(await layerErrors('src/wiring/policies.ts', "import type { OidcSettings } from '../api/auth.js';")).toHaveLength(1);
    expect(await layerErrors('src/client/refunds.ts', "import { createApi } from '../api/server.js';")).toHaveLength(1);
    expect(await layerErrors('src/config.ts', "import { loadConfig } from './wiring/runtime.js';")).toHaveLength(1);
    // What they do import stays allowed; the sandbox takes the engine's side of its credentials.
    expect(await layerErrors('src/api/server.ts', "import { RefundLedger } from '../ledger/refunds.js';")).toEqual([]);
    expect(await layerErrors('src/sandbox/index.ts', "import { SANDBOX_TOKEN } from '../providers/sandbox-credentials.js';")).toEqual([]);
    expect(await layerErrors('src/cli/tool-commands.ts', "import type { Config } from '../config.js';")).toEqual([]);
  });

  it('place every file of src/ in a layer', async () => {
    expect(await layerErrors('src/new-thing.ts', 'export const x = 1;')).toEqual([
      'src/new-thing is in no layer: give it one in eslint/layers.mjs (docs/engine.md, "Layers").',
    ]);
  });
});

/** Every module of src/ and the modules of src/ it imports, types included: the import graph. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join('src', f));
  return new Map(
    files.map((file) => {
      const imported = ts
        .preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles.map((i) => i.fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => relative('.', resolve(dirname(file), name.replace(/\.js$/, '.ts'))));
      return [file, imported];
    }),
  );
}

/** The cycles of `graph`, each as the modules it runs through (the strongly connected components of more than one module, or one importing itself). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('the import graph of src/', () => {
  it('has no cycle, type imports included', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('finds a cycle where there is one', () => {
    const graph = new Map([
      ['src/api/intake.ts', ['src/api/dispatcher.ts']],
      ['src/api/dispatcher.ts', ['src/api/intake.ts', 'src/client/events.ts']],
      ['src/client/events.ts', []],
    ]);
    expect(cyclesOf(graph)).toEqual([['src/api/dispatcher.ts', 'src/api/intake.ts']]);
  });
});
