import { expect, it } from 'vitest';
import { checkResult } from './wait.js';

/**
 * `npm run lint` as part of the suite: started by the checks project's global setup at the
 * beginning of the run, beside the tests, and read here at the end (issue 26). test/lint.test.ts
 * shows each of its guards fires.
 */
it('eslint . finds nothing', async () => {
  const { code, output } = await checkResult('eslint');
  expect(code, output).toBe(0);
}, 600_000);
