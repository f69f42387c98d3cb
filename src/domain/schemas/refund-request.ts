import { z } from 'zod';
import { pathSegmentId } from './path-segment.js';

/**
 * The `data` of a `refund.requested` event (docs/api.md, "POST /v1/events"): the public contract
 * order management writes to. Oen's wire schema (src/providers/oen/schemas.ts) takes the parts Oen
 * receives as they are (`merchantId`, `productDetails`, `remitInfo`) from here.
 *
 * A schema module: the API, the CLI and the activities validate with it; workflow code imports its
 * types only (no zod in the workflow bundle, docs/engine.md).
 */

export const refundIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"');

/** Goes into MWD's refund URL and Oen's transaction list URL as a path segment. */
export const orderId = pathSegmentId(128);
/** Whole NT$, as every refund (and the sandbox's demo charges) is counted. */
export const refundAmount = z
  .number({ error: 'must be a number' })
  .int('must be a whole number of NT$')
  .positive('must be a positive number of NT$')
  .max(100_000_000, 'must be at most NT$100,000,000');
const reason = z.string().max(500, 'must be at most 500 characters').optional();

/** The merchant an Oen refund is made for, when not the configured OEN_MERCHANT_ID. */
export const merchantId = z.string().min(1).optional();

/** The items refunded, for Oen's e-invoice allowance. */
export const productDetails = z
  .array(
    z.object({
      productionCode: z.string().min(1),
      description: z.string().min(1),
      quantity: z.number().positive(),
      unit: z.string().min(1),
      unitPrice: z.number().nonnegative(),
    }),
  )
  .min(1)
  .optional();

/** The bank account an ATM/CVS payment is refunded to. */
export const remitInfo = z
  .object({
    bankCode: z.string().min(1),
    bankName: z.string().min(1),
    branchCode: z.string().min(1),
    branchName: z.string().min(1),
    account: z.string().min(1),
    accountName: z.string().min(1),
  })
  .optional();

export const oenRefundRequested = z
  .object({
    refundId: refundIdSchema,
    provider: z.literal('oen'),
    orderId,
    amount: refundAmount,
    reason,
    transactionHid: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be an Oen transaction HID, e.g. P20240412CIK7KPPH'),
    merchantId,
    productDetails,
    remitInfo,
  })
  .strict();

export const mwdRefundRequested = z
  .object({
    refundId: refundIdSchema,
    provider: z.literal('mwd'),
    orderId,
    amount: refundAmount,
    reason,
    cardToken: z.string().min(1, 'must not be empty').max(256),
  })
  .strict();

export const refundRequested = z.discriminatedUnion('provider', [oenRefundRequested, mwdRefundRequested], {
  error: 'provider must be "oen" or "mwd"',
});

export type RefundRequested = z.infer<typeof refundRequested>;
export type OenRefundRequested = z.infer<typeof oenRefundRequested>;
export type MwdRefundRequested = z.infer<typeof mwdRefundRequested>;
