import { z } from 'zod';
import { lastFour, maskPans } from '../../domain/pan.js';

/**
 * What we keep of MWD's refund answer (docs/providers.md, "MWD"). Unlisted keys are dropped,
 * among them the CardToken echoed back, in ResultData and in OriRequestParams (a stand-in card
 * number), CheckSum, whose algorithm is not documented, and the free-text remarks; the masked
 * CardNumber is kept as its last four digits only.
 */
const resultData = z.object({
  RetCode: z.string(),
  RetMsg: z.string().optional(),
  ServiceTradeNo: z.string().optional(),
  ServiceTradeDate: z.string().optional(),
  ServiceTradeTime: z.string().optional(),
  MerchantTradeNo: z.string().optional(),
  OriMerchantTradeNo: z.string().optional(),
  TradeAmount: z.string().optional(),
  TradeType: z.string().optional(),
  PaymentType: z.string().optional(),
  AuthIdResp: z.string().optional(),
  CardNumber: z.string().optional(),
});

/**
 * MWD's request to Taishin pay+: its presence says the refund reached the bank. Kept, as evidence
 * for a person, are the fields that name the trade; free text is masked in case a card number sits
 * in it. A field of another shape is dropped rather than failing the answer: what matters to the
 * engine is that the request is there, and a real success must not become unreadable for it.
 */
const tradeText = z.string().transform(maskPans).optional().catch(undefined);

export const mwdBankRequest = z.object({
  ApiVer: tradeText,
  ApposId: tradeText,
  TimeStamp: tradeText,
  RequestParams: z
    .object({
      MerchantTradeNo: tradeText,
      MerchantTradeDate: tradeText,
      MerchantTradeTime: tradeText,
      TradeAmount: tradeText,
      TradeType: tradeText,
      OriMerchantTradeNo: tradeText,
    })
    .optional()
    .catch(undefined),
});

export type MwdBankRequest = z.infer<typeof mwdBankRequest>;

export const mwdRefundResponse = z.object({
  RtnCode: z.string(),
  RtnMessage: z.string().optional(),
  // null read as absent: MWD's serializer writes null for what it has not got. Anything else there,
  // of whatever shape, is a request to the bank.
  OriRequestParams: mwdBankRequest.nullish().catch({}),
  ResponseParams: z
    .object({
      ResultCode: z.string(),
      ResultMessage: z.string().optional(),
      // A refusal may come without ResultData; success cannot.
      ResultData: resultData.optional(),
    })
    .optional(),
  TimeStamp: z.string().optional(),
});

export type MwdRefundResponse = z.infer<typeof mwdRefundResponse>;

/** A refund MWD confirmed: all three success codes present (docs/providers.md, "Errors"). */
export const mwdRefundResult = z.object({
  orderId: z.string(),
  /** pay+ trade number: the provider's reference for this refund. */
  serviceTradeNo: z.string(),
  merchantTradeNo: z.string().optional(),
  /** Whole NT$ as MWD reported them back. */
  amount: z.number().int().positive(),
  tradeType: z.string().optional(),
  paymentType: z.string().optional(),
  authIdResp: z.string().optional(),
  cardLast4: z.string().optional(),
});

export type MwdRefundResult = z.infer<typeof mwdRefundResult>;

export function cardLast4(cardNumber: string | undefined): string | undefined {
  return cardNumber === undefined ? undefined : lastFour(cardNumber);
}
