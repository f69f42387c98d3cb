import { z } from 'zod';

/**
 * Fault injection for the sandbox emulators, set per route over the admin endpoint.
 * Rates are probabilities per request; `next` is a queue of faults served first, one per request,
 * so a test can say "F0001 three times, then the real answer".
 */
export const faultActions = ['f0001', 'http500', 'hang', 'commitThenDrop'] as const;
export type FaultAction = (typeof faultActions)[number];

const rate = z.number().min(0).max(1).default(0);

export const faultSpec = z
  .object({
    /** Oen only: HTTP 500 with result code F0001 (system error). */
    f0001: rate,
    /** HTTP 500 with a plain-text body, as a proxy in front of the provider gives. */
    http500: rate,
    /** Never answer; the connection stays open until the client gives up. */
    hang: rate,
    /** Do the work (a refund really happens), then destroy the socket before answering. */
    commitThenDrop: rate,
    /** Added before every answer. */
    latencyMs: z.number().int().min(0).max(120_000).default(0),
    next: z.array(z.enum(faultActions)).default([]),
  })
  .strict()
  .refine((spec) => spec.f0001 + spec.http500 + spec.hang + spec.commitThenDrop <= 1, {
    message: 'the fault rates of one route add up to more than 1',
  });

export type FaultSpec = z.output<typeof faultSpec>;

export class Faults<Route extends string> {
  private specs: Partial<Record<Route, FaultSpec>> = {};
  private readonly schema: z.ZodType<Partial<Record<Route, FaultSpec>>>;

  constructor(
    routes: readonly [Route, ...Route[]],
    private readonly random: () => number = Math.random,
    allowed: readonly FaultAction[] = faultActions,
  ) {
    const unsupported = faultActions.filter((action) => !allowed.includes(action));
    const spec = faultSpec.refine((s) => unsupported.every((action) => s[action] === 0 && !s.next.includes(action)), {
      message: `this emulator supports only ${allowed.join(', ')}`,
    });
    this.schema = z.partialRecord(z.enum(routes), spec);
  }

  /** Replaces the whole fault configuration; throws a ZodError naming the bad field. */
  set(config: unknown): void {
    this.specs = this.schema.parse(config);
  }

  get(): Partial<Record<Route, FaultSpec>> {
    return this.specs;
  }

  reset(): void {
    this.specs = {};
  }

  /** What happens to this request: an optional fault, and the latency to add first. */
  decide(route: Route): { action: FaultAction | undefined; latencyMs: number } {
    const spec = this.specs[route];
    if (!spec) return { action: undefined, latencyMs: 0 };
    const queued = spec.next.shift();
    if (queued) return { action: queued, latencyMs: spec.latencyMs };
    let roll = this.random();
    for (const action of faultActions) {
      if (roll < spec[action]) return { action, latencyMs: spec.latencyMs };
      roll -= spec[action];
    }
    return { action: undefined, latencyMs: spec.latencyMs };
  }
}
