import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Reporter } from 'vitest/node';

export const RUN_NODE_PATH = 'test/artifacts/vitest-node.json';

/** The Node that ran the suite, as scripts/test-summary.mjs prints it. */
export interface RunNode {
  version: string;
  execPath: string;
}

/**
 * Writes which Node ran the suite to test/artifacts/vitest-node.json: vitest's own process, whose
 * Node its test processes run on too (the forks pool starts them with its execPath). .ci/run prints
 * it at the end, so that a run says what it proved, not what the machine has on PATH.
 */
export default class RunNodeReporter implements Reporter {
  onTestRunEnd(): void {
    const node: RunNode = { version: process.version, execPath: process.execPath };
    mkdirSync(dirname(RUN_NODE_PATH), { recursive: true });
    writeFileSync(RUN_NODE_PATH, `${JSON.stringify(node, null, 2)}\n`);
  }
}
