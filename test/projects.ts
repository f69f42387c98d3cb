/**
 * The suite's tiers, as vitest projects (vitest.config.ts). Each test file is in exactly one of them
 * (test/package-scripts.test.ts checks it), and each project's global setup starts only what its
 * files use; vitest runs a project's global setup only when one of its files is in the run, so
 * `npm test -- FILE` starts what FILE needs and nothing else.
 *
 * - checks: `npm run lint` and `npm run typecheck`, started by its global setup
 *   (test/global-setup/checks.ts) at the beginning of the run so that in `npm test` they run beside
 *   the tests rather than before all of them; its files read their results at the end. In no tier's
 *   script: on their own they are `npm run lint` and `npm run typecheck`.
 * - unit: no server, no Temporal, no PostgreSQL: the domain, the provider rules, parsers, the status
 *   machine, the checks of documents (the fault table's among them) and configuration. `npm run test:unit`.
 * - engine-own: files that start servers or processes of their own (the emulators, PostgreSQL and
 *   PGlite ledgers, the API, the CLI, a Temporal of their own) but not the suite's Temporal; no
 *   global setup. With `engine`, `npm run test:engine`.
 * - engine: the suite's Temporal dev server and the workflow bundle (test/global-setup/dev-server.ts,
 *   test/global-setup/bundle.ts).
 * - cluster: the suite's production-shaped cluster on PostgreSQL, and the bundle
 *   (test/global-setup/cluster.ts). With `cluster-own`, `npm run test:cluster`.
 * - cluster-own: files that need the cluster's binaries or start a cluster of their own (the chaos
 *   run); no global setup.
 */
export const PROJECTS = {
  checks: ['test/checks/**/*.test.ts'],
  unit: [
    'test/unit/**/*.test.ts',
    'test/bench.test.ts',
    'test/chaos/invariants.test.ts',
    'test/chaos/scans.test.ts',
    'test/codec/aes-gcm.test.ts',
    'test/compose-observability.test.ts',
    'test/config.test.ts',
    'test/config-outside-development.test.ts',
    'test/fault-model/document.test.ts',
    'test/lint.test.ts',
    'test/package-scripts.test.ts',
    'test/providers/pan.test.ts',
    'test/sandbox/faults.test.ts',
    'test/shutdown.test.ts',
  ],
  'engine-own': [
    'test/activities/**/*.test.ts',
    'test/compose.test.ts',
    'test/killed-run.test.ts',
    'test/ledger/**/*.test.ts',
    'test/node-runtime.test.ts',
    'test/outcomes/**/*.test.ts',
    'test/ports.test.ts',
    'test/prometheus/promtool.test.ts',
    'test/providers/clients-from-config.test.ts',
    'test/providers/mwd.test.ts',
    'test/providers/oen.test.ts',
    'test/providers/rate-limit.test.ts',
    'test/sandbox/standalone.test.ts',
    'test/sandbox/timeline.test.ts',
    'test/secured-temporal.test.ts',
    'test/watchdog.test.ts',
    'test/workflow-bundle.test.ts',
  ],
  engine: [
    'test/api/**/*.test.ts',
    'test/browser/refunds-view.test.ts',
    'test/browser/ui.test.ts',
    'test/bulk.test.ts',
    'test/cli.test.ts',
    'test/cli-*.test.ts',
    'test/codec/encryption.test.ts',
    'test/doors/**/*.test.ts',
    'test/examples/**/*.test.ts',
    'test/fault-model/fault-table.test.ts',
    'test/image.test.ts',
    'test/intake/**/*.test.ts',
    'test/logging.test.ts',
    'test/prometheus/alert-fires.test.ts',
    'test/replay.test.ts',
    'test/replay-gate.test.ts',
    'test/start.test.ts',
    'test/temporal-cli.test.ts',
    'test/worker.test.ts',
    'test/workflows/**/*.test.ts',
  ],
  cluster: ['test/cluster/**/*.test.ts', 'test/browser/cluster-ui.test.ts'],
  'cluster-own': ['test/chaos/chaos.test.ts', 'test/cluster-pins.test.ts', 'test/cluster/schema.test.ts', 'test/killed-cluster.test.ts'],
} as const satisfies Record<string, readonly string[]>;

/** Files a project's include matches that belong to another one. */
export const EXCLUDED: Partial<Record<keyof typeof PROJECTS, readonly string[]>> = {
  cluster: ['test/cluster/schema.test.ts'],
};
