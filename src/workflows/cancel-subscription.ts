import { subscriptionCancelledProblems } from '../domain/guards.js';
import type { SubscriptionCancelled } from '../domain/schemas/order-events.js';
import { providerCalls } from './provider-calls.js';
import { checkEventData, readPolicy } from './steps.js';
import { checkInput, notRequestedFailure } from './validation.js';

/** `subscription.cancelled`: cancel the Oen subscription; the result is the cancelled subscription. */
export async function cancelSubscriptionWorkflow(input: SubscriptionCancelled) {
  const request = checkInput(input, subscriptionCancelledProblems(input), 'subscription.cancelled data');
  const notRequested = await checkEventData('subscription.cancelled', request);
  if (notRequested) throw notRequestedFailure(notRequested);
  const policy = await readPolicy();
  return providerCalls(policy, { summary: `Oen cancel subscription ${request.subscriptionId}` }).cancelOenSubscription(request);
}
