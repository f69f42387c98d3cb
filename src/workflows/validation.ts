import { ApplicationFailure } from '@temporalio/workflow';
import { codes } from '../domain/failures.js';

/**
 * Fails the run at once when its input has problems (src/domain/guards.ts). A plain error thrown in
 * workflow code fails only the workflow task, which Temporal retries forever; bad input can never
 * become good, so the run fails with a message that names each offending field.
 */
export function checkInput<T>(input: T, problems: string[], what: string): T {
  if (problems.length === 0) return input;
  throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${problems.join('; ')}`, codes.InvalidInput);
}
