import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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
