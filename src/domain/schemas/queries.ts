import { z } from 'zod';
import { refundStatus } from './refund-record.js';

/**
 * The queries of the API's lists: the API validates with them, and the CLI checks its flags with
 * their parts before it asks (`refundflow list --limit`, src/cli/flags.ts), so both hold one rule.
 */

/** GET /v1/refunds (docs/api.md). */
export const listQuery = z
  .object({
    orderId: z.string().min(1, 'must not be empty').optional(),
    status: refundStatus.optional(),
    /** Only refunds last updated before this time: those waiting longer than that (`refundflow list --older-than`). */
    updatedBefore: z.iso
      .datetime({ offset: true, error: 'must be a date and time with its offset, e.g. 2026-11-25T07:00:00Z' })
      .transform((time) => new Date(time))
      .optional(),
    limit: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(200, 'must be at most 200')
      .default(50),
    cursor: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

/** GET /v1/outcomes (docs/api.md): the events after a cursor, in order. */
export const outcomesQuery = z
  .object({
    /** The cursor of the last event read (each event carries its own); absent or 0: from the start. */
    after: z
      .string()
      .regex(/^\d{1,18}$/, "must be an event's cursor (digits), as an earlier answer gave it")
      .transform(Number)
      .default(0),
    limit: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .default(100),
  })
  .strict();

/** An outcome event's id (POST /v1/outcomes/:eventId/redeliver): `<refundId>.<status>.<ms>`, `<subscriptionId>.requires_attention.<ms>`. */
export const outcomeEventId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be an outcome event's id, as the stream or a delivery gave it, e.g. RF-1001.succeeded.1795590937933");
