import { ApplicationFailure } from '@temporalio/common';
import { eventDataSchemas } from '../domain/schemas/events.js';
import { codes } from '../domain/failures.js';

/**
 * The first step of an order.cancelled or subscription.cancelled run (a local activity): its input
 * validated against the event's schema, as the API validates it, for a run started by hand (workflow
 * code holds no zod: docs/engine.md, "The workflow bundle"). Fails the run with InvalidInput.
 */
export function createInputActivities() {
  return {
    checkEventData: (type: 'order.cancelled' | 'subscription.cancelled', data: unknown): Promise<void> => {
      const parsed = eventDataSchemas[type].safeParse(data);
      if (parsed.success) return Promise.resolve();
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
      return Promise.reject(ApplicationFailure.nonRetryable(`Invalid ${type} data: ${problems.join('; ')}`, codes.InvalidInput));
    },
  };
}
