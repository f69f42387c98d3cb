import { spawn } from 'node:child_process';
import { OPERATOR_TOKEN, type RunningApi } from './api.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI as a user runs it, in its own process, against the test file's API: its output and exit
 * code. `env` adds variables (undefined removes one: OPERATOR_TOKEN is set unless removed); `input`
 * is piped to its stdin.
 */
export function useCli(api: () => RunningApi) {
  return (args: string[], { env = {}, input }: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliRun> =>
    runCli(args, { ...process.env, REFUNDFLOW_API_URL: api().url, INGEST_WEBHOOK_SECRET: api().secret, OPERATOR_TOKEN, ...env }, input);
}

/** `npx refundflow …` in its own process with exactly `env` (an undefined value is left out), `input` on its stdin. */
export function runCli(args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliRun> {
  const fullEnv = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/refundflow.mjs', ...args], { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}
