import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { pingInput, type PingInput, type PingResult } from '../domain/ping.js';
import { parseWorkflowInput } from './validation.js';

const { ping } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

export async function pingWorkflow(input: PingInput = {}): Promise<PingResult> {
  return ping(parseWorkflowInput(pingInput, input, 'ping input'));
}
