import { subscriptionCancelled, type SubscriptionCancelled } from '../domain/order.js';
import type { OenSubscription } from '../providers/oen/schemas.js';
import { providerCalls, refundPolicy } from './provider-calls.js';
import { parseWorkflowInput } from './validation.js';

/** `subscription.cancelled`: cancel the Oen subscription; the result is the cancelled subscription. */
export async function cancelSubscriptionWorkflow(input: SubscriptionCancelled): Promise<OenSubscription> {
  const request = parseWorkflowInput(subscriptionCancelled, input, 'subscription.cancelled data');
  const { retryWindowMs } = await refundPolicy();
  return providerCalls(retryWindowMs, { summary: `Oen cancel subscription ${request.subscriptionId}` }).cancelOenSubscription(request);
}
