import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { codes, type NotRequested } from '../domain/failures.js';

/**
 * Fails the run at once when its input has problems (src/domain/guards.ts). A plain error thrown in
 * workflow code fails only the workflow task, which Temporal retries forever; bad input can never
 * become good, so the run fails with a message that names each offending field.
 */
export function checkInput<T>(input: T, problems: string[], what: string): T {
  if (problems.length === 0) return input;
  throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${problems.join('; ')}`, codes.InvalidInput);
}

/**
 * Ends a run the gate stopped (money-safety rule 8: no request the intake accepted stands behind it)
 * before any provider call, with the gate's reason, which names the run. Nothing is retried: only
 * the intake can make such a run valid, by accepting a request, and then it starts its own.
 */
export function notRequestedFailure(gate: NotRequested): ApplicationFailure {
  const { workflowId, runId } = workflowInfo();
  return ApplicationFailure.nonRetryable(gate.notRequested, codes.NotRequested, { workflowId, runId });
}
