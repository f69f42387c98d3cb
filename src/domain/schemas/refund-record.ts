import { z } from 'zod';
import { roles } from '../actor.js';
import type { ErrorCode } from '../failures.js';
import { refundStatuses } from '../refund-status.js';
import { refundIdSchema } from './refund-request.js';

/**
 * The refund record every reader sees: GET /v1/refunds/:refundId, the workflow's result, the ledger
 * row. A schema module (the API's answers and /openapi.json); workflow code imports its type only.
 */

export const refundStatus = z.enum(refundStatuses);

export const refundRecord = z.object({
  refundId: refundIdSchema,
  provider: z.enum(['oen', 'mwd']),
  orderId: z.string(),
  transactionHid: z.string().optional(),
  amount: z.number().int(),
  status: refundStatus,
  providerReference: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  error: z.object({ code: z.custom<ErrorCode>((code) => typeof code === 'string'), message: z.string() }).optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().optional(),
  workflowId: z.string(),
  /** The run that owns the refund: operator decisions are sent to it. */
  runId: z.string().optional(),
  /** Counts every write of the ledger row: whoever moves it checks it is still as read. */
  version: z.number().int().nonnegative().optional(),
  /** Who approved, rejected, cancelled or resolved it, in order, as the API verified them. */
  decisions: z
    .array(
      z.object({
        action: z.enum(['approve', 'reject', 'cancel', 'resolve']),
        /** `person`: whose credential it was; `heldBy`: another person shown that key when it was made (four eyes counts both). */
        by: z.object({ id: z.string(), name: z.string(), role: z.enum(roles).optional(), person: z.string().optional(), heldBy: z.string().optional() }),
        verified: z.boolean(),
        at: z.iso.datetime(),
        reason: z.string().optional(),
        evidence: z.string().optional(),
      }),
    )
    .optional(),
});

export type RefundRecord = z.infer<typeof refundRecord>;
