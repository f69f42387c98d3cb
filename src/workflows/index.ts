// The workflow bundle's entry: every workflow type the worker runs is exported here.
export { pingWorkflow } from './ping.js';
export { refundWorkflow } from './refund.js';
