import { z } from 'zod';
import type { RefundRecord } from './refund.js';

/** The `data` of an `order.cancelled` event (ARCHITECTURE.md, "Inbound events"). */
export const orderCancelled = z
  .object({
    orderId: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    provider: z.literal('oen', { error: 'must be "oen": only Oen orders can be listed and refunded whole' }),
    reason: z.string().max(500, 'must be at most 500 characters').optional(),
    subscriptionId: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

export type OrderCancelled = z.infer<typeof orderCancelled>;

/** The `data` of a `subscription.cancelled` event. */
export const subscriptionCancelled = z
  .object({
    provider: z.literal('oen', { error: 'must be "oen"' }),
    subscriptionId: z.string().min(1, 'must not be empty'),
    merchantId: z.string().min(1, 'must not be empty').optional(),
    reason: z.string().max(500, 'must be at most 500 characters').optional(),
  })
  .strict();

export type SubscriptionCancelled = z.infer<typeof subscriptionCancelled>;

/** A transaction of the order the engine did not refund, and why. */
export interface NotRefunded {
  transactionHid: string;
  status: 'requires_attention' | 'skipped';
  reason: string;
}

export interface OrderRefundResult {
  orderId: string;
  /** The refund runs this order's cancellation started, each as it ended. */
  refunds: RefundRecord[];
  notRefunded: NotRefunded[];
  /** `requires_attention` (with the reason) when the cancel could not be confirmed. */
  subscription?: { id: string; status: string; reason?: string };
}

/** The refund id of one transaction of a cancelled order: `<orderId>:<transactionHid>`. */
export function orderRefundId(orderId: string, transactionHid: string): string {
  return `${orderId}:${transactionHid}`;
}
