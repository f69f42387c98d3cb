// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layerRule } from './eslint/layers.mjs';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

/**
 * Workflow code is replayed and must be deterministic: it may not do I/O, use Node built-ins, or
 * pull in activity implementations (only their types, through proxyActivities). The fixtures under
 * test/fixtures/workflow-lint get the same rules so a test can prove each rule bites.
 */
const workflowFiles = ['src/workflows/**/*.ts', 'test/fixtures/workflow-lint/**/*.ts'];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'dist/', 'test/artifacts/', 'test/fixtures/workflow-lint/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { refundflow: { rules: { layers: layerRule } } },
    rules: { 'refundflow/layers': 'error' },
  },
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'commonjs', globals: globals.node },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: workflowFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code is deterministic: no Node built-ins. Do I/O in an activity.',
          })),
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows import activities as types only: proxyActivities<typeof activities>().',
            },
            {
              group: ['axios', 'pg', '@electric-sql/*', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'],
              message: 'Workflow code is deterministic: no I/O libraries. Do I/O in an activity.',
            },
            {
              group: ['zod', 'zod/*'],
              message: 'No zod in the workflow bundle: its schemas are rebuilt for every run (docs/performance.md). Check input with src/domain/guards.ts.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'require', 'fetch', 'setInterval', 'setImmediate', 'Buffer'].map((name) => ({
          name,
          message: `Workflow code is deterministic: no ${name}. Use @temporalio/workflow APIs or an activity.`,
        })),
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use uuid4() from @temporalio/workflow, or take randomness from an activity.',
        },
      ],
    },
  },
);
