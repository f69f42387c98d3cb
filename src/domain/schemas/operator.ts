import { z } from 'zod';
import { operatorInputLimits, type OperatorInput } from '../operator.js';

/** The API's schema of an operator's decision (src/domain/operator.ts), for its 422s and /openapi.json. */
export const operatorInput = z
  .object({
    refundId: z.string().min(1, 'must not be empty').max(operatorInputLimits.refundId, `must be at most ${operatorInputLimits.refundId} characters`).optional(),
    by: z.string().min(1, 'must not be empty').max(operatorInputLimits.by, `must be at most ${operatorInputLimits.by} characters`).optional(),
    reason: z.string().max(operatorInputLimits.reason, `must be at most ${operatorInputLimits.reason} characters`).optional(),
  })
  .strict() satisfies z.ZodType<OperatorInput>;
