import { proxyActivities } from '@temporalio/workflow';
import { pingInputProblems } from '../domain/guards.js';
import type { PingInput, PingResult } from '../domain/schemas/ping.js';
import { profiles, type PingActivities } from './activity-options.js';
import { checkInput } from './validation.js';

const { ping } = proxyActivities<PingActivities>(profiles.ping);

/** One no-op activity: the smallest round trip through the engine (the activity validates its input). */
export async function pingWorkflow(input: PingInput = {}): Promise<PingResult> {
  return ping(checkInput(input, pingInputProblems(input), 'ping input'));
}
