import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

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

  it('accept a workflow that keeps to the rules', async () => {
    expect(await ruleIdsFor('clean.ts')).toEqual([]);
  });
});
