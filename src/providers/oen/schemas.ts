import { z } from 'zod';
import { lastFour, maskPans } from '../../domain/pan.js';
import { merchantId, productDetails, remitInfo } from '../../domain/schemas/refund-request.js';

/**
 * Allow-lists of what we keep from Oen's answers (docs/providers.md, "Oen").
 * Unlisted keys are dropped at parse time: `userName`, `userEmail` and `cardName` (personal data we
 * do not need), and the full `cardNum`, which becomes `cardLast4` before anything else sees it.
 */

export const oenEnvelope = z.object({
  code: z.string(),
  message: z.string().optional(),
  data: z.unknown().optional(),
});

const isoDate = z.iso.datetime({ offset: true });

/** Free text Oen echoes back (a transaction's note, a cancel's reason): whatever it holds, no card number survives it. */
const freeText = z.string().transform(maskPans);

export const oenPaymentInfo = z
  .object({
    cardType: z.string().optional(),
    cardNum: z.string().optional(),
    method: z.string(),
  })
  .transform(({ cardNum, ...rest }) => {
    const cardLast4 = cardNum === undefined ? undefined : lastFour(cardNum);
    return { ...rest, ...(cardLast4 !== undefined && { cardLast4 }) };
  });

export const oenTransaction = z.object({
  /** The HID (`P2024…`): what the refund path takes. */
  id: z.string().min(1),
  /** Absent from the refund answer in the document's example. */
  transactionId: z.string().optional(),
  action: z.string(),
  amount: z.number().int().nonnegative(),
  fee: z.number().optional(),
  paymentInfo: oenPaymentInfo.optional(),
  /** `charged`, `refunded`, … (the document does not list them all). */
  status: z.string(),
  userId: z.string().optional(),
  orderId: z.string(),
  note: freeText.optional(),
  createdAt: isoDate,
  refundAmount: z.number().int().nonnegative().default(0),
  refundedAt: isoDate.optional(),
});

export type OenTransaction = z.infer<typeof oenTransaction>;

/** Assumption (docs/sandbox.md, "Oen"): the page token is `data.pageToken`; absent or empty on the last page. */
export const oenTransactionPage = z.object({
  transactions: z.array(oenTransaction),
  pageToken: z.string().optional(),
});

export const oenSubscription = z.object({
  id: z.string().min(1),
  status: z.string(),
  period: z.number().int().optional(),
  startedAt: isoDate.optional(),
  cancelledAt: isoDate.optional(),
  reason: freeText.optional(),
  createdAt: isoDate.optional(),
});

export type OenSubscription = z.infer<typeof oenSubscription>;

/**
 * The body of Oen's refund call (the domain's request is OenRefundRequested): `merchantId` comes from
 * config unless the caller names one; `productDetails` and `remitInfo` are the contract's, as they are.
 */
export const oenRefundBody = z.object({
  amount: z.number().int().min(1),
  merchantId,
  productDetails,
  remitInfo,
  reason: z.string().optional(),
});

export type OenRefundBody = z.infer<typeof oenRefundBody>;
