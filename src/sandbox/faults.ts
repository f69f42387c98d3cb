import { z } from 'zod';

/**
 * Fault injection for the sandbox emulators, set per route over the admin endpoint.
 *
 * A fault is "commit or not, then answer like this": the emulator first does the work or not (a
 * refund really happens, or nothing does), then answers with any status, body and headers, or
 * never answers, or resets the connection, or sends half of its answer. That is every answer a
 * provider, or a proxy or gateway in front of it, can give, before and after the provider acted.
 *
 * The named faults below are the common ones, for rates and short test sequences; `next` also takes
 * a fault written out in full, and `null` for the real answer. Rates are probabilities per request;
 * `next` is a queue served first, one per request, so a test can say "F0001 three times, then the
 * real answer". A configuration keyed `route@reference` (`refund@P2026…`, `listTransactions@ORDER-1`,
 * MWD `refund@<order>`) applies to that transaction or order alone, before the route's own.
 */
const answerKinds = ['answer', 'hang', 'reset', 'truncate'] as const;

export const fault = z
  .object({
    /** Do the work first (the refund happens), or not at all. */
    commit: z.boolean().default(false),
    /**
     * `answer`: send `status`, `body`, `headers`; `hang`: never answer (the connection stays open
     * until the client gives up); `reset`: destroy the connection without a byte of answer;
     * `truncate`: announce the whole body, send half of it, then destroy the connection.
     */
    then: z.enum(answerKinds).default('answer'),
    /** Default: the real answer's status when committed, else 200. */
    status: z.number().int().min(100).max(599).optional(),
    /** The raw body. Default: the real answer's when committed, else empty. */
    body: z.string().max(1_000_000).optional(),
    /** Default: JSON for a body that parses as JSON, else text/html. */
    contentType: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type Fault = z.output<typeof fault>;

const statusTitles: Record<string, string> = {
  '200': '系統維護中 (under maintenance)',
  '400': '400 Bad Request',
  '401': '401 Authorization Required',
  '403': '403 Forbidden',
  '404': '404 Not Found',
  '408': '408 Request Time-out',
  '409': '409 Conflict',
  '502': '502 Bad Gateway',
  '503': '503 Service Temporarily Unavailable',
  '504': '504 Gateway Time-out',
};

/** The HTML page a gateway in front of a provider answers with (nginx's, or a maintenance page for 200). */
export function gatewayPage(status: string): string {
  const title = statusTitles[status] ?? status;
  return `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center><hr><center>nginx</center></body></html>\n`;
}

/** The named faults every emulator knows. An emulator may add its own (Oen: `f0001`). */
export const commonFaults = {
  /** HTTP 500 with a plain-text body, as a proxy in front of the provider gives; nothing done. */
  http500: { commit: false, then: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' },
  /** Never answer; nothing done. */
  hang: { commit: false, then: 'hang' },
  /** Do the work (a refund really happens), then destroy the connection before answering. */
  commitThenDrop: { commit: true, then: 'reset' },
  /** Do the work, then a gateway answers 504 with its HTML page (it gave up waiting). */
  gateway504AfterCommit: { commit: true, then: 'answer', status: 504, body: gatewayPage('504'), contentType: 'text/html' },
  /** A 200 with an HTML maintenance page instead of the provider's answer; nothing done. */
  htmlMaintenance: { commit: false, then: 'answer', status: 200, body: gatewayPage('200'), contentType: 'text/html' },
  /** HTTP 429 with Retry-After: 1, from a rate limiter in front of the provider; nothing done. */
  http429: { commit: false, then: 'answer', status: 429, body: 'Too Many Requests', contentType: 'text/plain', headers: { 'Retry-After': '1' } },
} satisfies Record<string, Fault>;

const rate = z.number().min(0).max(1).default(0);

/** One route's configuration: a rate per named fault, latency, and the queue served first. */
function routeSpec(names: readonly [string, ...string[]]) {
  return z
    .object({
      ...Object.fromEntries(names.map((name) => [name, rate])),
      /** Added before every answer. */
      latencyMs: z.number().int().min(0).max(120_000).default(0),
      next: z.array(z.union([z.enum(names), fault, z.null()])).default([]),
    })
    .strict()
    .refine((spec) => names.reduce((sum, name) => sum + ((spec as Record<string, unknown>)[name] as number), 0) <= 1, {
      message: 'the fault rates of one route add up to more than 1',
    });
}

interface RouteSpec {
  latencyMs: number;
  next: Array<string | Fault | null>;
  [name: string]: unknown;
}

/** What happens to one request: the fault (with its name, for the record) and the latency to add. */
export interface PickedFault {
  fault?: Fault & { name: string };
  latencyMs: number;
}

export class Faults<Route extends string> {
  private specs: Record<string, RouteSpec> = {};
  private readonly schema: z.ZodType<Record<string, RouteSpec>>;
  private readonly named: Record<string, Fault>;

  constructor(
    routes: readonly [Route, ...Route[]],
    private readonly random: () => number = Math.random,
    extra: Record<string, Fault> = {},
  ) {
    this.named = { ...commonFaults, ...extra };
    const names = Object.keys(this.named) as [string, ...string[]];
    const key = z.string().refine((k) => (routes as readonly string[]).includes(k.split('@')[0] ?? ''), {
      message: `must be a route (${routes.join(', ')}), or a route@reference`,
    });
    this.schema = z.record(key, routeSpec(names));
  }

  /** The named faults this emulator knows. */
  names(): string[] {
    return Object.keys(this.named);
  }

  /** Replaces the whole fault configuration; throws a ZodError naming the bad field. */
  set(config: unknown): void {
    this.specs = this.schema.parse(config);
  }

  /** Sets the routes and references it names, leaving the others as they are. */
  merge(config: unknown): void {
    this.specs = { ...this.specs, ...this.schema.parse(config) };
  }

  get(): Record<string, RouteSpec> {
    return this.specs;
  }

  reset(): void {
    this.specs = {};
  }

  /** `reference`: the transaction or order the request is about, for faults keyed to it. */
  pick(route: Route, reference?: string): PickedFault {
    const keyed = reference === undefined ? undefined : this.specs[`${route}@${reference}`];
    const spec = keyed ?? this.specs[route];
    if (!spec) return { latencyMs: 0 };
    const queued = spec.next.shift();
    if (queued === null) return { latencyMs: spec.latencyMs };
    if (queued !== undefined) return { fault: this.resolve(queued), latencyMs: spec.latencyMs };
    let roll = this.random();
    for (const name of Object.keys(this.named)) {
      const chance = spec[name] as number;
      if (roll < chance) return { fault: this.resolve(name), latencyMs: spec.latencyMs };
      roll -= chance;
    }
    return { latencyMs: spec.latencyMs };
  }

  private resolve(queued: string | Fault): Fault & { name: string } {
    if (typeof queued !== 'string') return { ...queued, name: describeFault(queued) };
    return { ...fault.parse(this.named[queued]), name: queued };
  }
}

/** "commit, then 504 text/html", "no commit, then reset": how a written-out fault is recorded. */
function describeFault(f: Fault): string {
  const then = f.then === 'answer' ? `${f.status ?? 'the real status'}${f.body === undefined ? '' : ` with a ${f.body.length}-character body`}` : f.then;
  return `${f.commit ? 'commit' : 'no commit'}, then ${then}`;
}
