import { parseInboundEvent } from '../domain/schemas/events.js';
import { dispatchEvent, type IntakeDeps } from './intake.js';

export interface Dispatcher {
  /** One pass over the inbox: starts what is due. Resolves with how many events it handled. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the workflows of inboxed events the intake could not start (Temporal away, the API
 * stopped between writing the event and starting it). Each pass claims due events for a lease, so
 * several API processes share the work, and one that dies leaves its claims to the others.
 */
export function startDispatcher(
  deps: Pick<IntakeDeps, 'inbox' | 'ledger' | 'client' | 'taskQueue'>,
  { intervalMs = 1_000, batch = 20, leaseMs = 30_000, onError = (err: unknown) => console.error('inbox dispatcher:', err) } = {},
): Dispatcher {
  let stopped = false;
  let running: Promise<number> = Promise.resolve(0);

  async function runOnce(): Promise<number> {
    const due = await deps.inbox.claimPending(batch, leaseMs);
    for (const entry of due) {
      const parsed = parseInboundEvent({ specversion: '1.0', ...(entry.event as object) });
      if (!parsed.ok) {
        // Only validated events are inboxed: this one was written by another version's schema.
        await deps.inbox.markFailed(entry.eventId, `stored event no longer valid: ${JSON.stringify(parsed.problems)}`, 3_600_000);
        continue;
      }
      await dispatchEvent(deps, parsed.event, 10_000);
    }
    return due.length;
  }

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    running = runOnce().catch((err: unknown) => {
      onError(err);
      return 0;
    });
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, 0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
