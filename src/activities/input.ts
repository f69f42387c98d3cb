import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { codes } from '../domain/failures.js';
import { eventDataSchemas } from '../domain/schemas/events.js';

/**
 * `input` parsed by `schema`, or a non-retryable InvalidInput failure naming each field ("Invalid
 * refund request: amount: must be a whole number of NT$"): the check a run's first step makes of
 * input a run started by hand may carry (workflow code holds no zod: docs/engine.md, "The workflow
 * bundle").
 */
export function parsedInput<Schema extends z.ZodType>(schema: Schema, input: unknown, what: string): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${problems.join('; ')}`, codes.InvalidInput);
}

/** The first step of an order.cancelled or subscription.cancelled run (a local activity): its input validated against the event's schema. */
export function createInputActivities() {
  return {
    checkEventData: (type: 'order.cancelled' | 'subscription.cancelled', data: unknown): Promise<void> => {
      parsedInput(eventDataSchemas[type], data, `${type} data`);
      return Promise.resolve();
    },
  };
}
