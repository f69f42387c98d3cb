import { z } from 'zod';
import { resolutionLimits } from '../resolution.js';

/**
 * What a person sends to settle a refund in requires_attention (POST /v1/refunds/:refundId/resolve,
 * docs/api.md): an outcome with its evidence, or (Oen only) a retry. The API validates with these and
 * /openapi.json is generated from them; `refundflow resolve` checks its flags with their parts.
 */

const evidence = z
  .string()
  .trim()
  .min(1, 'is required: what shows how the refund ended (a provider screen, a statement line, a ticket)')
  .max(resolutionLimits.evidence, `must be at most ${resolutionLimits.evidence} characters`);

export const providerReference = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(resolutionLimits.providerReference, `must be at most ${resolutionLimits.providerReference} characters`);

export const outcomeBody = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('succeeded'), providerReference, evidence }).strict(),
  z.object({ outcome: z.literal('failed'), evidence }).strict(),
]);

export const retryBody = z
  .object({ action: z.literal('retry'), reason: z.string().max(resolutionLimits.reason, `must be at most ${resolutionLimits.reason} characters`).optional() })
  .strict();
