import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes refund runs carry, so operators can filter them in the Web UI
 * (e.g. `RefundStatus="requires_attention"`). The dev server registers exactly these at start.
 */
export const RefundStatus = defineSearchAttributeKey('RefundStatus', SearchAttributeType.KEYWORD);
export const RefundProvider = defineSearchAttributeKey('RefundProvider', SearchAttributeType.KEYWORD);
export const OrderId = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const TransactionHid = defineSearchAttributeKey('TransactionHid', SearchAttributeType.KEYWORD);
export const RefundAmount = defineSearchAttributeKey('RefundAmount', SearchAttributeType.INT);

export const refundSearchAttributes = [RefundStatus, RefundProvider, OrderId, TransactionHid, RefundAmount];
