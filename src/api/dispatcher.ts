import { startEventWorkflow, type EventStart } from '../client/events.js';
import { inboundEvent, type InboundEvent } from '../domain/schemas/events.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { problem, type Answer } from './answers.js';
import type { Client } from '@temporalio/client';
import type { EventInbox } from '../ledger/inbox.js';
import type { RefundLedger } from '../ledger/refunds.js';

/** What starting an inboxed event's workflow takes: the intake's and the dispatcher's own. */
export interface DispatchDeps {
  inbox: EventInbox;
  ledger: RefundLedger;
  client: Client;
  taskQueue: string;
}

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
  deps: DispatchDeps,
  { intervalMs = 1_000, batch = 20, leaseMs = 30_000, onError = (err: unknown) => console.error('inbox dispatcher:', err) } = {},
): Dispatcher {
  let stopped = false;
  let running: Promise<number> = Promise.resolve(0);

  async function runOnce(): Promise<number> {
    const due = await deps.inbox.claimPending(batch, leaseMs);
    for (const entry of due) {
      const stored = inboundEvent.safeParse(entry.event);
      if (!stored.success) {
        // Only validated events are inboxed: this one was written by another version's schema.
        await deps.inbox.markFailed(entry.eventId, `stored event no longer valid: ${stored.error.message}`, 3_600_000);
        continue;
      }
      await dispatchEvent(deps, stored.data, 10_000);
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

export type DispatchOutcome =
  | { kind: 'started' }
  /** The ledger already has the refund: its run started it (and may have ended it); nothing was started. */
  | { kind: 'known'; record: RefundRecord }
  | { kind: 'refused'; answer: Answer }
  | { kind: 'failed'; error: string };

/**
 * Starts an inboxed event's workflow and records how that went. Used by the intake (at once) and
 * the dispatcher (for what the intake could not start). A refund the ledger already has is not
 * started again (money-safety rule 7: a refund id ends once, whatever re-dispatch, slow first start
 * or re-sent event asks); otherwise starting twice is harmless (deterministic workflow ids), so a
 * crash between the start and the mark only costs a second, duplicate start.
 */
export async function dispatchEvent(deps: DispatchDeps, event: InboundEvent, timeoutMs: number): Promise<DispatchOutcome> {
  if (event.type === 'refund.requested') {
    const record = await deps.ledger.get(event.data.refundId);
    if (record) {
      await deps.inbox.markStarted(event.id);
      return { kind: 'known', record };
    }
  }
  let started: EventStart;
  try {
    // A refund that follows one closed without a refund is let on by the ledger, not by Temporal's history.
    const mayFollow = (request: { transactionHid: string }, earlier: string) => deps.ledger.mayFollow(request.transactionHid, earlier);
    started = await withTimeout(startEventWorkflow(deps.client, deps.taskQueue, event, mayFollow), timeoutMs);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    await deps.inbox.markFailed(event.id, error, 1_000);
    return { kind: 'failed', error };
  }
  if (started.kind === 'refused') {
    const answer = problem(409, started.reason);
    await deps.inbox.markRefused(event.id, started.reason, answer);
    return { kind: 'refused', answer };
  }
  await deps.inbox.markStarted(event.id);
  return { kind: 'started' };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Temporal did not answer the start within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
