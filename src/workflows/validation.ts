import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';

/**
 * Validates a workflow's input. A plain error thrown in workflow code fails only the workflow task,
 * which Temporal retries forever; bad input can never become good, so it fails the run at once
 * with a message that names each offending field.
 */
export function parseWorkflowInput<Schema extends z.ZodType>(schema: Schema, input: unknown, what: string): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${fields.join('; ')}`, 'InvalidInput');
}
