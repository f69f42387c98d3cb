import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutcomeOutbox, StoredOutcome } from '../ledger/outbox.js';
import { outcomeCloudEvent, type UiLinks } from './cloud-event.js';
import { outcomeEventBody, type OutcomeDestination } from './destinations.js';
import { REDELIVERY } from '../domain/outcome-delivery.js';

/** What the relay says when a destination starts failing and when it takes events again. */
export interface RelayLog {
  warn(line: string): void;
  info(line: string): void;
}

export interface RelayOptions {
  outbox: OutcomeOutbox;
  destinations: readonly OutcomeDestination[];
  ui: UiLinks;
  log?: RelayLog;
  /** How often an idle relay looks for new events (default 200 ms). */
  pollMs?: number;
  /** How long a lease on a destination lasts unless renewed (default 30 s). */
  leaseMs?: number;
  /** The first wait after a failed delivery, doubled each time up to `maxBackoffMs` (defaults: REDELIVERY, src/domain/outcome-delivery.ts). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Events read per round (default 100). */
  batch?: number;
}

/** One destination's answer to a redelivery. */
export interface Redelivery {
  destination: string;
  delivered: boolean;
  error?: string;
}

/**
 * Delivers the outbox (src/ledger/outbox.ts) to each destination, in stream order, at least once:
 * an event is sent, and the destination's cursor moved past it only once the destination has taken
 * it; a failure is sent again after a backoff (1 s, doubling to 30 s), and nothing after it goes to
 * that destination before it does — so a refund's events arrive in the order they happened. Each
 * destination has its own loop and cursor: one that is down holds up no other. One relay holds a
 * destination at a time (a lease in the ledger, renewed each round), so several API processes may
 * run one each. Also gives the new events their stream positions (the sequencer).
 */
export class OutcomeRelay {
  private readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly stop = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(private readonly options: RelayOptions) {
    this.pollMs = options.pollMs ?? 200;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  /** The destinations' names, as the ledger and the API name them. */
  get destinationNames(): string[] {
    return this.options.destinations.map((d) => d.name);
  }

  /**
   * Registers the destinations in the ledger (src/ledger/outbox.ts, `register`) and starts the loops.
   * A ledger that does not answer does not stop the process that runs the relay (the API, which
   * has other work): it is said once, and the relay registers and starts once the ledger answers.
   */
  async start(): Promise<void> {
    try {
      await this.options.outbox.register(this.destinationNames);
      this.startLoops();
    } catch (err) {
      this.options.log?.warn(`outcome relay: the ledger did not answer (${message(err)}); it starts once the ledger does`);
      this.loops.push(this.registerWhenLedgerAnswers());
    }
  }

  private async registerWhenLedgerAnswers(): Promise<void> {
    while (!this.stop.signal.aborted) {
      await this.pause(this.nextBackoff(0));
      try {
        await this.options.outbox.register(this.destinationNames);
      } catch {
        continue;
      }
      this.options.log?.info('outcome relay: the ledger answers; delivering');
      this.startLoops();
      return;
    }
  }

  private startLoops(): void {
    // Nowhere to send: GET /v1/outcomes gives the events their positions as it reads them.
    if (this.options.destinations.length === 0 || this.stop.signal.aborted) return;
    this.loops.push(this.sequencer());
    for (const destination of this.options.destinations) this.loops.push(this.deliver(destination));
  }

  /** Stops the loops (an event being sent is sent to the end, or not at all), and lets go of the leases. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.all(this.loops);
    await Promise.all(this.options.destinations.map((d) => this.options.outbox.release(d.name, this.holder).catch(() => undefined)));
    for (const destination of this.options.destinations) await destination.close?.();
  }

  /** Sends one event again to every destination, now, beside the stream (an operator's redelivery). */
  async redeliver(outcome: StoredOutcome): Promise<Redelivery[]> {
    const event = outcomeCloudEvent(outcome, this.options.ui);
    const body = outcomeEventBody(event);
    return Promise.all(
      this.options.destinations.map(async (destination) => {
        try {
          await destination.send(event, body);
          return { destination: destination.name, delivered: true };
        } catch (err) {
          return { destination: destination.name, delivered: false, error: message(err) };
        }
      }),
    );
  }

  private async sequencer(): Promise<void> {
    let failing = false;
    while (!this.stop.signal.aborted) {
      try {
        await this.options.outbox.sequence();
        if (failing) this.options.log?.info('outcome relay: the ledger answers again; new outcome events get their positions');
        failing = false;
      } catch (err) {
        // Said once when the ledger stops answering, and once when it is back: not every 200 ms.
        if (!failing) this.options.log?.warn(`outcome relay: could not give new outcome events their positions (${message(err)}); trying again`);
        failing = true;
      }
      await this.pause(this.pollMs);
    }
  }

  private async deliver(destination: OutcomeDestination): Promise<void> {
    const { outbox } = this.options;
    let backoff = 0;
    let failing = false;
    let ledgerDown = false;
    while (!this.stop.signal.aborted) {
      let cursor: number | undefined;
      let events: StoredOutcome[];
      try {
        cursor = await outbox.lease(destination.name, this.holder, this.leaseMs);
        events = cursor === undefined ? [] : await outbox.after(cursor, this.options.batch ?? 100);
        ledgerDown = false;
      } catch (err) {
        if (!ledgerDown) this.options.log?.warn(`outcome relay: the ledger did not answer for ${destination.name} (${message(err)}); trying again`);
        ledgerDown = true;
        await this.pause(this.nextBackoff(0));
        continue;
      }
      // Another relay delivers there; look again before its lease would run out.
      if (cursor === undefined) {
        await this.pause(Math.min(this.leaseMs / 2, 5_000));
        continue;
      }
      if (events.length === 0) {
        await this.pause(this.pollMs);
        continue;
      }
      for (const outcome of events) {
        if (this.stop.signal.aborted) return;
        const event = outcomeCloudEvent(outcome, this.options.ui);
        try {
          await destination.send(event, outcomeEventBody(event));
        } catch (err) {
          backoff = this.nextBackoff(backoff);
          if (!failing) this.options.log?.warn(`outcome relay: ${destination.name} did not take ${event.id} (${message(err)}); sending it again, backing off`);
          failing = true;
          await outbox.failed(destination.name, this.holder, `${event.id}: ${message(err)}`).catch(() => undefined);
          await this.pause(backoff);
          break;
        }
        if (failing) this.options.log?.info(`outcome relay: ${destination.name} takes outcome events again (${event.id})`);
        failing = false;
        backoff = 0;
        // A lease lost meanwhile (this relay stalled past it): the next round finds out who holds it.
        if (!(await outbox.delivered(destination.name, this.holder, outcome.position ?? 0, this.leaseMs).catch(() => false))) break;
      }
    }
  }

  private nextBackoff(previous: number): number {
    const first = this.options.backoffMs ?? REDELIVERY.firstMs;
    return Math.min(previous === 0 ? first : previous * REDELIVERY.coefficient, this.options.maxBackoffMs ?? REDELIVERY.maximumMs);
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
