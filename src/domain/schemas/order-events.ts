import { z } from 'zod';
import { pathSegmentId } from './path-segment.js';
import { orderId } from './refund-request.js';

/** The `data` of an `order.cancelled` event (docs/api.md, "POST /v1/events"). */
export const orderCancelled = z
  .object({
    orderId,
    provider: z.literal('oen', { error: 'must be "oen": only Oen orders can be listed and refunded whole' }),
    reason: z.string().max(500, 'must be at most 500 characters').optional(),
    subscriptionId: pathSegmentId().optional(),
  })
  .strict();

export type OrderCancelled = z.infer<typeof orderCancelled>;

/** The `data` of a `subscription.cancelled` event. */
export const subscriptionCancelled = z
  .object({
    provider: z.literal('oen', { error: 'must be "oen"' }),
    subscriptionId: pathSegmentId(),
    merchantId: z.string().min(1, 'must not be empty').optional(),
    reason: z.string().max(500, 'must be at most 500 characters').optional(),
  })
  .strict();

export type SubscriptionCancelled = z.infer<typeof subscriptionCancelled>;
