import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import type { CHECKS, CheckResult } from '../global-setup/checks.js';

/** The result of a check the checks project's global setup started at the beginning of the run. */
export async function checkResult(name: keyof typeof CHECKS): Promise<CheckResult> {
  const file = join(inject('checksDir'), `${name}.json`);
  await expect.poll(() => existsSync(file), { timeout: 590_000, interval: 250 }).toBe(true);
  return JSON.parse(readFileSync(file, 'utf8')) as CheckResult;
}
