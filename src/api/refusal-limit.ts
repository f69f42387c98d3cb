/**
 * How many calls without a valid credential one source may have refused in a minute before its
 * further ones are answered 429 and not written anywhere (docs/api.md, "Authentication and roles"):
 * a flood of bad credentials must neither fill the audit trail nor drown the refusals that matter.
 */
export const REFUSALS_PER_SOURCE_PER_MINUTE = 30;

const WINDOW_MS = 60_000;
/** Sources remembered at once; past it, a new source is limited until old windows end (a flood from many addresses). */
const MAX_SOURCES = 50_000;

/** Refusals of unauthenticated calls, counted per source (the client's address) in fixed one-minute windows. */
export class RefusalLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute = REFUSALS_PER_SOURCE_PER_MINUTE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one refusal of `source`: true while it is within its limit; otherwise how long until its window ends, in seconds. */
  take(source: string): true | { retryAfterSeconds: number } {
    const now = this.now();
    let window = this.windows.get(source);
    if (!window || now - window.start >= WINDOW_MS) {
      if (!window && this.windows.size >= MAX_SOURCES) this.forgetEnded(now);
      if (!window && this.windows.size >= MAX_SOURCES) return { retryAfterSeconds: WINDOW_MS / 1000 };
      window = { start: now, count: 0 };
      this.windows.set(source, window);
    }
    window.count += 1;
    if (window.count <= this.perMinute) return true;
    return { retryAfterSeconds: Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000)) };
  }

  private forgetEnded(now: number): void {
    for (const [source, window] of this.windows) if (now - window.start >= WINDOW_MS) this.windows.delete(source);
  }
}
