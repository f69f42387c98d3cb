/** A SQL client (the ledger's database): the shared limiter keeps its slots in a table there. */
export interface SqlClient {
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

/** A request's turn: the moment (local clock, ms) it was due to be sent. */
export interface Turn {
  due: number;
}

/** Waits until a request to the provider may be sent. */
export interface RateLimiter {
  /**
   * Resolves when the request may go; rejects with the signal's reason if it is aborted first.
   * `onWait` is called about once a second while waiting (an activity heartbeats there).
   */
  acquire(options?: { signal?: AbortSignal | undefined; onWait?: (() => void) | undefined }): Promise<Turn>;
}

export const unlimited: RateLimiter = { acquire: () => Promise.resolve({ due: Number.POSITIVE_INFINITY }) };

/**
 * Whether a turn taken earlier (before some step that had to come between it and the send) is still
 * good: sent later than this after its slot, a request could crowd the ones whose slots come next.
 */
export function turnStillGood(turn: Turn, now = Date.now()): boolean {
  return now - turn.due <= LATE_MS;
}

/**
 * Room left in each second for the jitter between the moment a request's slot comes and the moment it
 * reaches the provider (a timer firing late on a busy worker): slots are spaced (1 s + this) / limit,
 * so the provider sees at most `limit` requests in any one-second window as long as that jitter stays
 * under it.
 */
export const JITTER_ALLOWANCE_MS = 150;

/** A request later than this after its slot takes a new one (a third of the allowance). */
export const LATE_MS = JITTER_ALLOWANCE_MS / 3;

/**
 * A per-provider rate limit that holds across every worker sharing the ledger database: one row per
 * provider holds the next free slot, and each request takes the next one in a single statement (the
 * row's lock orders concurrent takers; the database's clock is the only clock). Requests are spaced
 * evenly, never bunched: the provider sees a steady stream, and at most `perSecond` in any second.
 */
export class SharedRateLimiter implements RateLimiter {
  readonly spacingMs: number;

  constructor(
    private readonly db: SqlClient,
    readonly provider: string,
    readonly perSecond: number,
  ) {
    this.spacingMs = (1000 + JITTER_ALLOWANCE_MS) / perSecond;
  }

  async acquire({ signal, onWait }: { signal?: AbortSignal | undefined; onWait?: (() => void) | undefined } = {}): Promise<Turn> {
    for (;;) {
      signal?.throwIfAborted();
      const { waitMs } = await this.reserve();
      const due = Date.now() + waitMs;
      for (let left = waitMs; left > 0; left = due - Date.now()) {
        await abortableSleep(Math.min(left, 1000), signal);
        if (due - Date.now() > 0) onWait?.();
      }
      // Woken too late (a busy event loop): sent now, it could crowd the requests whose slots come
      // next into one second. It takes a new slot instead.
      if (turnStillGood({ due })) return { due };
    }
  }

  /**
   * Takes the next free slot: the later of now and the last slot taken plus the spacing. Returns the
   * slot (ms since the epoch, by the database's clock) and how long from now until it comes.
   */
  async reserve(): Promise<{ slotAt: number; waitMs: number }> {
    const { rows } = await this.db.query<{ slot_at: number | string; wait_ms: number | string }>(
      `INSERT INTO provider_rate_slots AS s (provider, next_at)
         VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8 / 1000))
       ON CONFLICT (provider) DO UPDATE
         SET next_at = GREATEST(s.next_at, clock_timestamp()) + make_interval(secs => $2::float8 / 1000)
       RETURNING EXTRACT(EPOCH FROM next_at) * 1000 - $2::float8 AS slot_at,
                 GREATEST(0, EXTRACT(EPOCH FROM (next_at - clock_timestamp())) * 1000 - $2::float8) AS wait_ms`,
      [this.provider, this.spacingMs],
    );
    const row = rows[0];
    if (!row) throw new Error(`no rate-limit slot was returned for ${this.provider}`);
    return { slotAt: Number(row.slot_at), waitMs: Number(row.wait_ms) };
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted while waiting for the rate limit'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
