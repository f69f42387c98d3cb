// The workflow bundle's entry: every workflow type the worker runs is exported here.
export { cancelSubscriptionWorkflow } from './cancel-subscription.js';
export { pingWorkflow } from './ping.js';
export { reconcileWorkflow } from './reconcile.js';
export { refundOrderWorkflow } from './refund-order.js';
export { refundWorkflow } from './refund.js';
export { resolveWorkflow } from './resolve.js';
