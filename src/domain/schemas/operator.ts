import { z } from 'zod';
import { operatorInputLimits } from '../operator.js';

/**
 * What a person sends with approve, reject or cancel (src/domain/operator.ts): the API's 422s and
 * /openapi.json. Who decided is not taken from the body: it is the identity the API verified.
 */
export const operatorInput = z
  .object({
    refundId: z.string().min(1, 'must not be empty').max(operatorInputLimits.refundId, `must be at most ${operatorInputLimits.refundId} characters`).optional(),
    reason: z.string().max(operatorInputLimits.reason, `must be at most ${operatorInputLimits.reason} characters`).optional(),
    by: z.never({ error: 'is no longer taken: the decision is recorded under the identity you signed in with' }).optional().meta({ deprecated: true }),
  })
  .strict();

export type OperatorBody = z.infer<typeof operatorInput>;
