import { expect, it } from 'vitest';
import { checkResult } from './wait.js';

/**
 * The second half of `npm run lint`, Prettier's check (.prettierrc.json; what it leaves alone in
 * .prettierignore), as part of the suite: started by the checks project's global setup beside the
 * tests and read here at the end. `npm run format` rewrites what it finds.
 */
it('prettier --check . finds every file formatted', async () => {
  const { code, output } = await checkResult('prettier');
  expect(code, output).toBe(0);
}, 600_000);
