import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { codes, type NotRequested } from '../domain/failures.js';
import { eventDataSchemas } from '../domain/schemas/events.js';
import type { RequestGate } from '../ledger/acceptance.js';
import { ledgerCall } from './failures.js';

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

/**
 * The first step of an order.cancelled or subscription.cancelled run (a local activity): its input
 * validated against the event's schema, then the gate — the event accepted by the intake, with the
 * same contents, under the workflow id the intake gives it. Answers why not (and the audit trail has
 * it), or nothing when the run may go on.
 */
export function createInputActivities({ gate }: { gate: RequestGate }) {
  return {
    checkEventData: async (type: 'order.cancelled' | 'subscription.cancelled', data: unknown): Promise<NotRequested | undefined> => {
      const valid = parsedInput(eventDataSchemas[type], data, `${type} data`);
      // Only a workflow's activity has a run; anything else cannot pass the workflow id check.
      const { workflowId, runId } = Context.current().info.workflowExecution ?? { workflowId: '(no workflow)', runId: '(no run)' };
      const passed = await ledgerCall(() => gate.event(type, valid, { workflowId, runId }));
      return 'notRequested' in passed ? passed : undefined;
    },
  };
}
