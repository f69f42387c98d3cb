import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/ledger/database.js';
import { rateLimitersFrom } from '../../src/wiring/providers.js';
import { JITTER_ALLOWANCE_MS, LATE_MS, SharedRateLimiter, turnStillGood, unlimited } from '../../src/providers/rate-limit.js';
import { freshDatabase, postgresAvailable, type DatabaseKind } from '../helpers/databases.js';

const kinds: DatabaseKind[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];

/**
 * The shared rate limit's slots, read from the database that holds them (no timing is asserted:
 * the bench checks what the provider sees; here, what the limiter hands out).
 */
describe.each(kinds)('the per-provider rate limit on %s', (kind) => {
  let db: Database;
  beforeEach(async () => {
    db = await freshDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it('hands two workers one evenly spaced series of slots: never more than the limit in any second', async () => {
    // Two limiters over one database: two worker processes sharing the ledger.
    const a = new SharedRateLimiter(db, 'oen', 20);
    const b = new SharedRateLimiter(db, 'oen', 20);
    const slots = (await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).reserve()))).map((s) => s.slotAt).sort((x, y) => x - y);
    const gaps = slots.slice(1).map((slot, i) => slot - (slots[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(a.spacingMs - 0.01);
    expect(a.spacingMs).toBeCloseTo((1000 + JITTER_ALLOWANCE_MS) / 20);
    // any 21 consecutive slots span more than a second, so no one-second window holds 21
    for (let i = 0; i + 20 < slots.length; i += 1) expect((slots[i + 20] ?? 0) - (slots[i] ?? 0)).toBeGreaterThan(1000);
  });

  it('keeps each provider apart', async () => {
    const oen = new SharedRateLimiter(db, 'oen', 1);
    const mwd = new SharedRateLimiter(db, 'mwd', 1);
    await oen.reserve();
    await oen.reserve();
    expect((await mwd.reserve()).waitMs).toBe(0);
    expect((await oen.reserve()).waitMs).toBeGreaterThan(1000);
  });

  it('heartbeats while a request waits its turn, and stops waiting when the call is cancelled', async () => {
    const limiter = new SharedRateLimiter(db, 'mwd', 1);
    // three slots taken (1.1 s apart): the next request's turn is about 3.3 s away
    await limiter.reserve();
    await limiter.reserve();
    await limiter.reserve();
    let waits = 0;
    const controller = new AbortController();
    const third = limiter.acquire({ signal: controller.signal, onWait: () => (waits += 1) });
    // Its first heartbeat comes about a second in, more than two seconds before its turn.
    await expect.poll(() => waits, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    controller.abort(new Error('activity cancelled'));
    await expect(third).rejects.toThrow('activity cancelled');
  });
});

describe('OEN_RATE_LIMIT and MWD_RATE_LIMIT', () => {
  it('default to 20 requests a second each; off turns a limit off; anything else stops the start with the reason', () => {
    const defaults = loadConfig({});
    expect([defaults.OEN_RATE_LIMIT, defaults.MWD_RATE_LIMIT]).toEqual([20, 20]);
    const config = loadConfig({ OEN_RATE_LIMIT: 'off', MWD_RATE_LIMIT: '2.5' });
    expect(config.OEN_RATE_LIMIT).toBe('off');
    expect(config.MWD_RATE_LIMIT).toBe(2.5);
    const limiters = rateLimitersFrom(config, { query: () => Promise.reject(new Error('unused')), exec: () => Promise.resolve() });
    expect(limiters.oen).toBe(unlimited);
    expect(limiters.mwd).toBeInstanceOf(SharedRateLimiter);
    for (const bad of ['0', '-1', 'fast', '20000']) {
      expect(() => loadConfig({ OEN_RATE_LIMIT: bad })).toThrow(/OEN_RATE_LIMIT must be requests per second \(a positive number up to 10000\), or off/);
    }
  });
});

describe('a turn taken before a step that had to come first', () => {
  it('is still good while the request is at most LATE_MS past its slot; later, it waits for a new one', () => {
    expect(turnStillGood({ due: 1_000 }, 1_000 + LATE_MS)).toBe(true);
    expect(turnStillGood({ due: 1_000 }, 1_000 + LATE_MS + 1)).toBe(false);
    expect(LATE_MS).toBeLessThan(JITTER_ALLOWANCE_MS);
  });
});
