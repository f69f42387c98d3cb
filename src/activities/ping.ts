import { Context } from '@temporalio/activity';
import { pingInput, type PingInput, type PingResult } from '../domain/schemas/ping.js';

export interface PingDeps {
  now: () => Date;
}

export function createPingActivities({ now }: PingDeps) {
  return {
    ping: async (input: PingInput): Promise<PingResult> => {
      const { message, delayMs } = pingInput.parse(input);
      // Context.sleep ends early, with a CancelledFailure, when the activity is cancelled.
      if (delayMs > 0) await Context.current().sleep(delayMs);
      return { message, answeredAt: now().toISOString() };
    },
  };
}
