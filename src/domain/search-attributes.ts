import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/**
 * The custom search attributes refund runs carry, so operators can filter them in the Web UI
 * (e.g. `RefundStatus="requires_attention"`). The dev server registers exactly these at start.
 */
export const RefundStatusKey = defineSearchAttributeKey('RefundStatus', SearchAttributeType.KEYWORD);
export const RefundProviderKey = defineSearchAttributeKey('RefundProvider', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const TransactionHidKey = defineSearchAttributeKey('TransactionHid', SearchAttributeType.KEYWORD);
export const RefundAmountKey = defineSearchAttributeKey('RefundAmount', SearchAttributeType.INT);

export const refundSearchAttributes = [RefundStatusKey, RefundProviderKey, OrderIdKey, TransactionHidKey, RefundAmountKey];

/**
 * A refund's search attributes but its status (which changes as it goes): what every run about the
 * refund carries — its own run, and a person's resolution of it — so one filter finds them all.
 */
export function refundAttributes(refund: {
  provider: 'oen' | 'mwd';
  orderId: string;
  amount: number;
  transactionHid?: string | undefined;
}): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [
    { key: RefundProviderKey, value: refund.provider },
    { key: OrderIdKey, value: refund.orderId },
    { key: RefundAmountKey, value: refund.amount },
  ];
  if (refund.provider === 'oen' && refund.transactionHid !== undefined) pairs.push({ key: TransactionHidKey, value: refund.transactionHid });
  return pairs;
}
