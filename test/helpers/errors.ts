import { expect } from 'vitest';
import { ProviderError } from '../../src/providers/errors.js';

/** The ProviderError a call fails with; the test fails if the call succeeds or fails otherwise. */
export async function providerFailure(call: Promise<unknown>): Promise<ProviderError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}
