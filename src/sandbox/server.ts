import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Faults } from './faults.js';

/** One refund an emulator carried out: the ground truth the engine's ledger is checked against. */
export interface SandboxRefund {
  provider: 'oen' | 'mwd';
  /** Oen: the transaction HID; MWD: the order id. */
  reference: string;
  orderId: string;
  amount: number;
  providerReference: string;
  refundedAt: string;
}

/** One request as the emulator saw it: when it arrived and when its answer left (ms since the epoch). */
export interface TimelineEntry {
  route: string;
  path: string;
  receivedAt: number;
  /** Absent while unanswered, and for a hang or a commit-then-drop (no answer ever left). */
  answeredAt?: number;
}

/** When each request arrived (the onRequest hook), for the timeline. */
const arrivals = new WeakMap<FastifyRequest, number>();

/** The last requests, oldest first, for the benchmark's latencies and its rate-limit check. */
export class Timeline {
  private entries: TimelineEntry[] = [];

  constructor(private readonly capacity = 200_000) {}

  add(route: string, path: string, receivedAt = Date.now()): TimelineEntry {
    const entry: TimelineEntry = { route, path, receivedAt };
    this.entries.push(entry);
    // Trimmed a tenth at a time, so a long-running emulator does not copy the list on every request.
    if (this.entries.length > this.capacity * 1.1) this.entries = this.entries.slice(-this.capacity);
    return entry;
  }

  /** Entries that arrived at or after `since` (up to the last `capacity`, and a tenth more). */
  since(since = 0): TimelineEntry[] {
    return this.entries.filter((entry) => entry.receivedAt >= since);
  }

  clear(): void {
    this.entries = [];
  }
}

/** What each emulator gives the shared admin endpoint. */
export interface EmulatorCore<Route extends string> {
  faults: Faults<Route>;
  /** Requests per route, counted as they arrive (faulted ones included). */
  requests: Record<Route, number>;
  timeline: Timeline;
  refunds: SandboxRefund[];
  seed(body: unknown): void;
  state(): unknown;
  reset(): void;
}

export interface ProviderAnswer {
  status: number;
  body: unknown;
}

/** A bad admin request gets a 400 naming the field, like the providers' own validation. */
function zodMessage(err: z.ZodError): string {
  return err.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
}

export function createSandboxServer<Route extends string>(core: EmulatorCore<Route>): FastifyInstance {
  // Hung requests keep their sockets open; closing the server must still end them.
  const app = Fastify({ logger: false, forceCloseConnections: true });

  // Arrival as early as the server sees the request: before its body is read and parsed.
  app.addHook('onRequest', (request, _reply, done) => {
    arrivals.set(request, Date.now());
    done();
  });

  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof z.ZodError) return reply.code(400).send({ error: zodMessage(err) });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ error: err instanceof Error ? err.message : String(err) });
  });

  app.get('/__admin/state', () => core.state());
  app.post('/__admin/seed', (request) => {
    core.seed(request.body);
    return core.state();
  });
  app.get('/__admin/refunds', () => ({ refunds: core.refunds }));
  app.get('/__admin/requests', () => ({ requests: core.requests }));
  app.get<{ Querystring: { since?: string } }>('/__admin/timeline', (request) => ({
    timeline: core.timeline.since(Number(request.query.since ?? 0) || 0),
  }));
  app.get('/__admin/faults', () => core.faults.get());
  app.put('/__admin/faults', (request) => {
    core.faults.set(request.body ?? {});
    return core.faults.get();
  });
  app.post('/__admin/reset', () => {
    core.reset();
    return core.state();
  });
  return app;
}

/**
 * Runs one provider request through the route's faults: latency first, then F0001 / HTTP 500 /
 * hang instead of the work, or commit-then-drop after it.
 */
export async function answerWithFaults<Route extends string>(
  core: EmulatorCore<Route>,
  route: Route,
  request: FastifyRequest,
  reply: FastifyReply,
  work: () => ProviderAnswer,
  f0001Body?: unknown,
): Promise<void> {
  core.requests[route] += 1;
  const seen = core.timeline.add(route, request.url, arrivals.get(request));
  const { action, latencyMs } = core.faults.decide(route);
  if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
  if (action === 'hang') {
    reply.hijack();
    return;
  }
  if (action === 'http500') {
    seen.answeredAt = Date.now();
    await reply.code(500).type('text/plain').send('Internal Server Error');
    return;
  }
  if (action === 'f0001') {
    seen.answeredAt = Date.now();
    await reply.code(500).send(f0001Body);
    return;
  }
  const answer = work();
  if (action === 'commitThenDrop') {
    reply.hijack();
    request.raw.socket.destroy();
    return;
  }
  seen.answeredAt = Date.now();
  await reply.code(answer.status).send(answer.body);
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

export function routeCounters<Route extends string>(routes: readonly Route[]): Record<Route, number> {
  return Object.fromEntries(routes.map((route) => [route, 0])) as Record<Route, number>;
}
