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
