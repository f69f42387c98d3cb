import { configDefaults, defineConfig } from 'vitest/config';
import { EXCLUDED, PROJECTS } from './test/projects.js';

/** Each project's global setup; the others start nothing for the run (test/projects.ts says what each holds). */
const GLOBAL_SETUP: Partial<Record<keyof typeof PROJECTS, string[]>> = {
  // One Temporal dev server and one workflow bundle for the engine project's files; each file runs
  // its own worker on its own task queue.
  engine: ['test/global-setup/dev-server.ts', 'test/global-setup/bundle.ts'],
  // The production-shaped cluster, and the same bundle (built once when both projects run).
  cluster: ['test/global-setup/cluster.ts', 'test/global-setup/bundle.ts'],
  // ESLint and the type check, started at the beginning of the run, beside the tests.
  checks: ['test/global-setup/checks.ts'],
};

/**
 * The checks project's files only read what its global setup's ESLint and tsc left: they run in a
 * group of their own after every other file (vitest runs groups one after the other), so that
 * they never hold a worker while the checks are still going.
 */
const GROUP_ORDER: Partial<Record<keyof typeof PROJECTS, number>> = { checks: 1 };

export default defineConfig({
  test: {
    setupFiles: ['test/setup-file.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time. Vitest's default for a run is one fewer than the cores — one file at
    // a time on this two-core machine — but most files spend their time waiting on Temporal (timers,
    // heartbeats, a worker's polls) or on processes they started, not on the CPU: with two, a file
    // waiting leaves the core to another. Each file has its own task queue, ledger and ports.
    maxWorkers: 2,
    // .ci/run reads the JSON report to print the "N passed, N failed" line CI counts, each file's
    // time (test/reporters/file-times.ts, hooks and import included) to print the slowest, and the
    // Node that ran the suite (test/reporters/run-node.ts).
    reporters: ['default', ['json', { outputFile: 'test/artifacts/vitest-results.json' }], './test/reporters/file-times.ts', './test/reporters/run-node.ts'],
    projects: Object.entries(PROJECTS).map(([name, include]) => ({
      extends: true as const,
      test: {
        name,
        include: [...include],
        exclude: [...configDefaults.exclude, ...(EXCLUDED[name as keyof typeof PROJECTS] ?? [])],
        globalSetup: GLOBAL_SETUP[name as keyof typeof PROJECTS] ?? [],
        sequence: { groupOrder: GROUP_ORDER[name as keyof typeof PROJECTS] ?? 0 },
      },
    })),
  },
});
