import { z } from 'zod';
import { maskPans } from '../pan.js';
import { orderCancelled, subscriptionCancelled } from './order-events.js';
import { refundRequested } from './refund-request.js';

/**
 * The inbound events (docs/api.md, "POST /v1/events"): CloudEvents 1.0 in structured JSON, one
 * schema per type for `data`. The API validates with these, and /openapi.json is generated from them.
 */

export const eventTypes = ['refund.requested', 'order.cancelled', 'subscription.cancelled'] as const;
export type EventType = (typeof eventTypes)[number];

export const eventDataSchemas = {
  'refund.requested': refundRequested,
  'order.cancelled': orderCancelled,
  'subscription.cancelled': subscriptionCancelled,
} as const satisfies Record<EventType, z.ZodType>;

/** The envelope. Extension attributes are allowed (CloudEvents permits them) and ignored. */
export const cloudEvent = z.looseObject({
  specversion: z.literal('1.0', { error: 'must be "1.0" (CloudEvents 1.0)' }),
  id: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  source: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  type: z.enum(eventTypes, { error: `must be one of ${eventTypes.map((t) => `"${t}"`).join(', ')}` }),
  time: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time, e.g. 2026-11-22T08:00:00Z' }).optional(),
  datacontenttype: z.literal('application/json', { error: 'must be "application/json" when given' }).optional(),
  subject: z.string().optional(),
  data: z.unknown(),
});

/**
 * An accepted event as the engine keeps it (the inbox's `event` column, a workflow's input): the
 * envelope's id, source and type, and its validated `data`. The dispatcher reads stored events back
 * with this schema.
 */
export const inboundEvent = z.discriminatedUnion('type', [
  z.object({ id: z.string(), source: z.string(), type: z.literal('refund.requested'), data: refundRequested }),
  z.object({ id: z.string(), source: z.string(), type: z.literal('order.cancelled'), data: orderCancelled }),
  z.object({ id: z.string(), source: z.string(), type: z.literal('subscription.cancelled'), data: subscriptionCancelled }),
]);

export type InboundEvent = z.infer<typeof inboundEvent>;

/** One problem with one field, as every 422 lists them. `field` is a JSON path, e.g. `data.amount`. */
export interface FieldProblem {
  field: string;
  problem: string;
}

export type ParsedEvent = { ok: true; event: InboundEvent } | { ok: false; problems: FieldProblem[] };

/** The envelope first, then `data` against its type's schema; every problem named by its field. */
export function parseInboundEvent(body: unknown): ParsedEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ field: '(body)', problem: 'must be a JSON object (a CloudEvent in structured mode)' }] };
  }
  // PostgreSQL text and jsonb cannot hold U+0000 or a lone surrogate (`"\ud800"` in JSON): an event
  // carrying one could be neither kept in the inbox nor written to the ledger, so it is refused here,
  // field by field.
  const unstorable = unstorableProblems(body);
  if (unstorable.length > 0) return { ok: false, problems: unstorable };
  const envelope = cloudEvent.safeParse(body);
  const problems: FieldProblem[] = envelope.success ? [] : fieldProblems(envelope.error);
  const type = (body as { type?: unknown }).type;
  if (typeof type === 'string' && (eventTypes as readonly string[]).includes(type)) {
    const data = eventDataSchemas[type as EventType].safeParse((body as { data?: unknown }).data);
    if (!data.success) problems.push(...fieldProblems(data.error, 'data'));
  }
  if (problems.length > 0 || !envelope.success) return { ok: false, problems };
  const { id, source } = envelope.data;
  const data = eventDataSchemas[envelope.data.type].parse(envelope.data.data);
  return { ok: true, event: { id, source, type: envelope.data.type, data } as InboundEvent };
}

/** U+0000 and lone surrogates: characters PostgreSQL cannot store. */
// eslint-disable-next-line no-control-regex -- NUL is exactly the character looked for
export const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** `text` with each character PostgreSQL cannot store replaced by U+FFFD. */
export function storable(text: string): string {
  return text.replace(new RegExp(UNSTORABLE.source, 'gu'), '\uFFFD');
}

function unstorableProblems(value: unknown, path: string[] = []): FieldProblem[] {
  const problem = (at: string[]): FieldProblem => ({
    field: storable(at.join('.')) || '(body)',
    problem: 'must not contain the NUL character (U+0000) or a lone surrogate',
  });
  if (typeof value === 'string') return UNSTORABLE.test(value) ? [problem(path)] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, field]) => [
    ...(UNSTORABLE.test(key) ? [problem([...path, key])] : []),
    ...unstorableProblems(field, [...path, key]),
  ]);
}

export function fieldProblems(error: z.ZodError, prefix?: string): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
    return {
      field: path.join('.') || '(body)',
      problem: unknownKeys ? `has fields this type does not take: ${unknownKeys.join(', ')}` : issue.message,
    };
  });
}

/**
 * An accepted event as the engine keeps it (inbox, workflow input, history): a card number someone
 * typed into free text is masked (money-safety rule 4). Identifiers are left as they are: an order
 * id or a bank account can pass a Luhn check, and masking one would send the refund somewhere else.
 */
export function withCardNumbersMasked(event: InboundEvent): InboundEvent {
  const data = event.data;
  const masked = {
    ...data,
    ...(data.reason !== undefined && { reason: maskPans(data.reason) }),
    ...('productDetails' in data &&
      data.productDetails !== undefined && {
        productDetails: data.productDetails.map((p) => ({ ...p, description: maskPans(p.description) })),
      }),
  };
  return { ...event, data: masked } as InboundEvent;
}
