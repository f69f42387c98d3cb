import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { pingInputProblems } from '../domain/guards.js';
import type { PingInput, PingResult } from '../domain/schemas/ping.js';
import { checkInput } from './validation.js';

const { ping } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

/** One no-op activity: the smallest round trip through the engine (the activity validates its input). */
export async function pingWorkflow(input: PingInput = {}): Promise<PingResult> {
  return ping(checkInput(input, pingInputProblems(input), 'ping input'));
}
