import { ESLint } from 'eslint';
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

  it('leave the top layers free', async () => {
    expect(await layerErrors('src/api/server.ts', "import { RefundLedger } from '../ledger/refunds.js';")).toEqual([]);
  });
});
