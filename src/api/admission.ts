import type { RefundLedger } from '../ledger/refunds.js';

export interface AdmissionOptions {
  /** Refund runs this API process keeps working at once (RUNNING_REFUNDS_LIMIT). */
  limit: number;
  /** How often the ledger is asked which of them are done (ms). */
  pollMs?: number;
  /**
   * A run the ledger never shows (refused at its request gate, terminated before it opened the
   * refund) gives its place back after this long (ms), so that a lost place is not lost for good.
   */
  expiryMs?: number;
  now?: () => number;
}

/**
 * How many refund runs this API process has started that the engine is still working: started,
 * and neither waiting for a person nor ended (the ledger shows it `received` or `submitting`, or
 * not yet). The intake starts a refund's run at once only while there is a place (`take`); past
 * the limit the accepted event waits in the inbox, and the dispatcher starts it when a place frees
 * up. A burst then queues in the inbox instead of opening every run at once, where each run's next
 * step would wait behind every other run's: the refunds already started go on being worked, and a
 * refund's wait is the backlog ahead of it. docs/performance.md, "The intake keeps up".
 *
 * A soft limit: an event the dispatcher claimed while the intake took the last place is started all
 * the same (it holds the claim's lease), so the count may pass the limit by a few for a moment.
 */
export class Admission {
  private readonly running = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  /** Events this process left in the inbox that its dispatcher has not yet found all started. */
  private backlog = false;

  constructor(
    private readonly ledger: Pick<RefundLedger, 'noLongerWorked'>,
    private readonly options: AdmissionOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** RUNNING_REFUNDS_LIMIT. */
  get limit(): number {
    return this.options.limit;
  }

  /** Places free now. */
  room(): number {
    return Math.max(0, this.options.limit - this.running.size);
  }

  /** Runs this process started that the engine is still working. */
  get size(): number {
    return this.running.size;
  }

  /**
   * Whether the intake may start `refundId`'s run at once: a place is free, and no event this
   * process left waiting is still in the inbox (a new event does not pass the ones before it). When
   * not, the event waits in the inbox for the dispatcher.
   */
  startNow(refundId: string): boolean {
    if (!this.backlog && this.take(refundId)) return true;
    this.backlog = true;
    return false;
  }

  /** Whether events this process left in the inbox may still be waiting there for a place. */
  get waiting(): boolean {
    return this.backlog;
  }

  /** The dispatcher found fewer events due than it had places for: nothing waits behind a new one. */
  caughtUp(): void {
    this.backlog = false;
  }

  /** Takes a place for `refundId`'s run if one is free (a refund that has one keeps it). */
  take(refundId: string): boolean {
    if (this.running.has(refundId)) return true;
    if (this.running.size >= this.options.limit) return false;
    this.running.set(refundId, this.now());
    this.schedule();
    return true;
  }

  /** Gives `refundId`'s place back: its run was not started after all, or is already known. */
  release(refundId: string): void {
    if (this.running.delete(refundId)) this.freed();
  }

  /** Calls `listener` whenever places free up; answers a function that stops it. */
  onRoom(listener: () => void): () => void {
    this.waiters.add(listener);
    return () => this.waiters.delete(listener);
  }

  /** Asks the ledger once which runs are done and frees their places (the poll's step; tests call it). */
  async check(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    const done = await this.ledger.noLongerWorked(ids);
    const expired = this.now() - (this.options.expiryMs ?? 120_000);
    let freed = false;
    for (const id of ids) {
      const since = this.running.get(id);
      if (since !== undefined && (done.has(id) || since < expired)) freed = this.running.delete(id) || freed;
    }
    if (freed) this.freed();
  }

  stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running.clear();
    return this.polling;
  }

  private freed(): void {
    for (const listener of this.waiters) listener();
  }

  /** Polls while places are taken; a ledger that does not answer is asked again at the next poll. */
  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.polling = this.check()
        .catch(() => undefined)
        .finally(() => {
          this.timer = undefined;
          if (this.running.size > 0) this.schedule();
        });
    }, this.options.pollMs ?? 200);
    this.timer.unref();
  }
}
