import { expect, it } from 'vitest';
import { checkResult } from './wait.js';

/** `npm run typecheck` as part of the suite: started by the checks project's global setup at the beginning of the run, beside the tests, and read here at the end (issue 26). */
it('tsc --noEmit finds nothing (strict)', async () => {
  const { code, output } = await checkResult('tsc');
  expect(code, output).toBe(0);
}, 600_000);
