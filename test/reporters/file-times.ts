import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export const FILE_TIMES_PATH = 'test/artifacts/vitest-file-times.json';

/** One test file's time, as scripts/test-summary.mjs prints the slowest. */
export interface FileTime {
  file: string;
  project: string;
  /** From the file's process being ready to its last hook: setting up, importing the file and the setup file, tests and hooks. */
  ms: number;
  /** Tests and hooks alone (beforeAll's servers and workers included). */
  testsMs: number;
  state: string;
}

/**
 * Writes every test file's time to test/artifacts/vitest-file-times.json. vitest's JSON report has a
 * file's first test's start to its last test's end, which leaves out its beforeAll and afterAll
 * hooks (the emulators, the workers, the processes a file starts) and its import; the diagnostic
 * vitest keeps per module has them.
 */
export default class FileTimesReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const times: FileTime[] = testModules.map((module) => {
      const d = module.diagnostic();
      return {
        file: relative(process.cwd(), module.moduleId),
        project: module.project.name,
        ms: Math.round(d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration),
        testsMs: Math.round(d.duration),
        state: module.state(),
      };
    });
    mkdirSync(dirname(FILE_TIMES_PATH), { recursive: true });
    writeFileSync(FILE_TIMES_PATH, `${JSON.stringify(times, null, 2)}\n`);
  }
}
