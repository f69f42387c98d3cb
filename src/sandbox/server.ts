import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Fault, Faults } from './faults.js';

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

/**
 * Every refund request that reached an emulator, whatever came of it: a request that reached a
 * transaction or order already refunded is a double send, even where the emulator refused it (the
 * real provider may not).
 */
export interface SandboxRefundRequest {
  provider: 'oen' | 'mwd';
  /** Oen: the transaction HID; MWD: the order id. */
  reference: string;
  /** Whole NT$ as asked, where the body said. */
  amount?: number;
  receivedAt: string;
  /** The transaction or order was already refunded when this request arrived. */
  alreadyRefunded: boolean;
  /** `refunded`: carried out; `refused`: answered with a refusal; `not processed`: a fault answered before any work. */
  result: 'refunded' | 'refused' | 'not processed';
  /** The fault that shaped the answer, if any. */
  fault?: string;
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
  refundRequests: SandboxRefundRequest[];
  seed(body: unknown): void;
  state(): unknown;
  reset(): void;
  /** Behaviour an emulator lets a test choose (MWD: whether a second refund of an order is refused). */
  options?: { get(): unknown; set(body: unknown): unknown };
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
  app.get('/__admin/refund-requests', () => ({ requests: core.refundRequests }));
  app.get('/__admin/requests', () => ({ requests: core.requests }));
  app.get<{ Querystring: { since?: string } }>('/__admin/timeline', (request) => ({
    timeline: core.timeline.since(Number(request.query.since ?? 0) || 0),
  }));
  app.get('/__admin/faults', () => core.faults.get());
  app.put('/__admin/faults', (request) => {
    core.faults.set(request.body ?? {});
    return core.faults.get();
  });
  app.patch('/__admin/faults', (request) => {
    core.faults.merge(request.body ?? {});
    return core.faults.get();
  });
  const { options } = core;
  if (options) {
    app.get('/__admin/options', () => options.get());
    app.put('/__admin/options', (request) => options.set(request.body ?? {}));
  }
  app.post('/__admin/reset', () => {
    core.reset();
    return core.state();
  });
  return app;
}

/**
 * Runs one provider request through the route's faults: latency first; then the work, unless a
 * fault says not to commit; then the real answer, or the fault's. Answers the fault's name, if any.
 */
export async function answerWithFaults<Route extends string>(
  core: EmulatorCore<Route>,
  route: Route,
  request: FastifyRequest,
  reply: FastifyReply,
  work: () => ProviderAnswer,
  /** The transaction or order the request is about, for faults keyed to it. */
  reference?: string,
): Promise<string | undefined> {
  core.requests[route] += 1;
  const seen = core.timeline.add(route, request.url, arrivals.get(request));
  const { fault, latencyMs } = core.faults.pick(route, reference);
  if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
  const answer = !fault || fault.commit ? work() : undefined;
  if (!fault) {
    seen.answeredAt = Date.now();
    await reply.code(answer!.status).send(answer!.body);
    return undefined;
  }
  if (fault.then === 'hang') {
    reply.hijack();
    return fault.name;
  }
  if (fault.then === 'reset') {
    reply.hijack();
    request.raw.socket.destroy();
    return fault.name;
  }
  const { status, body, headers } = faultAnswer(fault, answer);
  if (fault.then === 'truncate') {
    reply.hijack();
    const raw = reply.raw;
    // With no body to cut (nothing done, none given), a length is still announced and never sent:
    // half of nothing would be a whole, empty answer.
    raw.writeHead(status, { ...headers, 'Content-Length': Math.max(Buffer.byteLength(body), 64) });
    raw.write(body.slice(0, Math.floor(body.length / 2)), () => request.raw.socket.destroy());
    return fault.name;
  }
  seen.answeredAt = Date.now();
  await reply.code(status).headers(headers).send(body);
  return fault.name;
}

/** The status, raw body and headers a fault answers with, the real answer filling what it leaves out. */
function faultAnswer(fault: Fault, real: ProviderAnswer | undefined): { status: number; body: string; headers: Record<string, string> } {
  const body = fault.body ?? (real ? JSON.stringify(real.body) : '');
  const contentType = fault.contentType ?? (isJson(body) ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');
  return { status: fault.status ?? real?.status ?? 200, body, headers: { ...fault.headers, 'Content-Type': contentType } };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

export function routeCounters<Route extends string>(routes: readonly Route[]): Record<Route, number> {
  return Object.fromEntries(routes.map((route) => [route, 0])) as Record<Route, number>;
}
