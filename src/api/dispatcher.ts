import { startEventWorkflow, type EventStart } from '../client/events.js';
import { inboundEvent, type InboundEvent } from '../domain/schemas/events.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { Admission } from './admission.js';
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
  /** The places for refund runs this process works at once; without it, every accepted event starts at once. */
  admission?: Admission;
}

export interface Dispatcher {
  /** One pass over the inbox: starts what is due. Resolves with how many events it handled. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the workflows of inboxed events the intake did not start: those accepted while every
 * place for a refund run was taken (`deps.admission`), and those it could not (Temporal away, the
 * API stopped between writing the event and starting it). Each pass claims due events, oldest
 * first, for a lease, so several API processes share the work, and one that dies leaves its claims
 * to the others; a pass takes only as many as there are places, and while events this process
 * left wait, a place freed starts the next pass at once.
 */
export function startDispatcher(
  deps: DispatchDeps,
  { intervalMs = 1_000, batch = 20, leaseMs = 30_000, onError = (err: unknown) => console.error('inbox dispatcher:', err) } = {},
): Dispatcher {
  const { admission } = deps;
  let stopped = false;
  let running: Promise<number> = Promise.resolve(0);
  let passing = false;
  let again = false;

  async function runOnce(): Promise<number> {
    const limit = admission ? Math.min(batch, admission.room()) : batch;
    if (limit === 0) return 0;
    const due = await deps.inbox.claimPending(limit, leaseMs);
    // Fewer due than asked for: the inbox has no backlog left, so the intake may start at once again.
    if (admission && due.length < limit) admission.caughtUp();
    for (const entry of due) {
      const stored = inboundEvent.safeParse(entry.event);
      if (!stored.success) {
        // Only validated events are inboxed: this one was written by another version's schema.
        await deps.inbox.markFailed(entry.eventId, `stored event no longer valid: ${stored.error.message}`, 3_600_000);
        continue;
      }
      const refundId = stored.data.type === 'refund.requested' ? stored.data.data.refundId : undefined;
      if (refundId !== undefined) admission?.take(refundId);
      const outcome = await dispatchEvent(deps, stored.data, 10_000);
      if (refundId !== undefined && outcome.kind !== 'started') admission?.release(refundId);
    }
    return due.length;
  }

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    clearTimeout(timer);
    passing = true;
    running = runOnce().catch((err: unknown) => {
      onError(err);
      return 0;
    });
    void running.then((handled) => {
      passing = false;
      if (stopped) return;
      // A pass that started something may have left more behind it: look again at once.
      const more = again || handled > 0;
      again = false;
      timer = setTimeout(tick, more ? 0 : intervalMs);
    });
  };
  timer = setTimeout(tick, 0);
  // A freed place starts a pass at once only while events this process left wait for one: with
  // none waiting, every poll that frees a place would otherwise cost an inbox claim for nothing.
  const stopListening = admission?.onRoom(() => {
    if (!admission.waiting) return;
    if (passing) again = true;
    else if (!stopped) tick();
  });

  return {
    runOnce,
    async stop() {
      stopped = true;
      stopListening?.();
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
  const record = await alreadyInLedger(deps, event);
  if (record) return { kind: 'known', record };
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

/**
 * A `refund.requested` whose refund the ledger already has (its run started it): its event is
 * marked started, since nothing is to be started for it, and the refund is answered as it stands.
 */
export async function alreadyInLedger(deps: Pick<DispatchDeps, 'ledger' | 'inbox'>, event: InboundEvent): Promise<RefundRecord | undefined> {
  if (event.type !== 'refund.requested') return undefined;
  const record = await deps.ledger.get(event.data.refundId);
  if (record) await deps.inbox.markStarted(event.id);
  return record;
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
