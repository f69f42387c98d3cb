import { eventWorkflowId } from '../client/events.js';
import { parseInboundEvent, withCardNumbersMasked, type FieldProblem, type InboundEvent } from '../domain/schemas/events.js';
import { maskPans } from '../domain/pan.js';
import { oneRefundPerTransaction } from '../domain/refund-start.js';
import type { StoredAnswer } from '../ledger/inbox.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { IntakeName } from '../domain/intakes.js';
import { SIGNATURE_HEADERS, SIGNATURE_TOLERANCE_SECONDS, type Signer } from '../webhooks/signing.js';
import { problem, type Answer } from './answers.js';
import { alreadyInLedger, dispatchEvent, type DispatchDeps } from './dispatcher.js';
import { sha256 } from '../ledger/hashing.js';

/** A body over 256 KiB is refused with 413 (docs/api.md, "POST /v1/events"). */
export const MAX_EVENT_BYTES = 256 * 1024;
/** How much of a rejected body is kept (card numbers masked). */
export const KEPT_BODY_BYTES = 16 * 1024;

export interface IntakeDeps extends DispatchDeps {
  signer: Signer;
  uiUrl: (workflowId: string) => string;
  /** How long the answer waits for the workflow start before leaving it to the dispatcher. */
  startTimeoutMs?: number;
}

export interface AcceptedBody {
  eventId: string;
  refunds: Array<{ refundId: string; status: string; workflowId: string; uiUrl: string }>;
  /** The run the event started (for order.cancelled and subscription.cancelled, where refunds are found later). */
  workflowId: string;
  uiUrl: string;
}

/**
 * The part of a refused body that is kept: card numbers masked in the whole body first, then cut to
 * KEPT_BODY_BYTES — cut first, a card number across the cut would keep its first digits unmasked.
 */
export function keptBody(raw: Buffer): string {
  const masked = Buffer.from(maskPans(raw.toString('utf8')), 'utf8');
  // A character cut in half at the end is dropped, not kept as U+FFFD.
  return new TextDecoder('utf-8', { fatal: false }).decode(masked.subarray(0, KEPT_BODY_BYTES)).replace(/\uFFFD$/, '');
}

/** Message headers, as HTTP's and the brokers' are read: a name in lower case, its value or values. */
export type DeliveryHeaders = Record<string, string | string[] | undefined>;

/**
 * One event as a transport delivered it, for the one path every intake takes after its transport
 * (EventIntake.take): HTTP's POST /v1/events, a RabbitMQ or a NATS message.
 */
export interface Delivery {
  intake: IntakeName;
  /**
   * What is checked for size, signed, hashed (the same event id again with the same content is a
   * duplicate) and kept with a refusal: the body in structured mode; binary mode's signed content
   * (src/webhooks/cloudevents-binding.ts, binarySignedContent).
   */
  content: Buffer;
  /** The Standard Webhooks headers are read from these. */
  headers: DeliveryHeaders;
  /** Binary mode: the event's attributes, and the bytes of its data (the message body). */
  binary?: { attributes: Record<string, string>; data: Buffer };
  /** What the transport found unreadable as a CloudEvent (a refusal with this status and reason). */
  unreadable?: { statusCode: number; reason: string };
  /**
   * Whether a delivery that carries no signature headers at all is refused: always for HTTP; for a
   * broker, when INGEST_WEBHOOK_SECRET is set (docs/api.md, "Signatures on broker messages"). Headers
   * that are there are always checked. A broker message's signature may be of any age (it may have
   * waited in its queue through an outage; a replay of it is the duplicate the inbox answers as one);
   * an HTTP request's is at most 5 minutes old.
   */
  signatureRequired: boolean;
}

/**
 * Every intake's one path, from the bytes a transport delivered: size, signature, JSON, schema,
 * conflicts, then the inbox (durable) and only then the answer. The workflow is started at once when
 * a place for its run is free (src/api/admission.ts) and Temporal answers in time; otherwise the
 * dispatcher starts it from the inbox. Every refusal is
 * stored. HTTP answers with it; a broker consumer acks, dead-letters or leaves the message for
 * redelivery by it (src/api/brokers/ack.ts). It resolves only once the inbox write (or the
 * refusal's) has committed, and throws when the ledger cannot be written.
 */
export class EventIntake {
  constructor(private readonly deps: IntakeDeps) {}

  /** POST /v1/events: a structured event, its signature required. */
  async receive(raw: Buffer, headers: DeliveryHeaders): Promise<Answer> {
    return this.take({ intake: 'http', content: raw, headers, signatureRequired: true });
  }

  async take(delivery: Delivery): Promise<Answer> {
    const raw = delivery.content;
    const reject = async (answer: Answer, reason: string, extra: { eventId?: string; eventType?: string; problems?: FieldProblem[] } = {}) => {
      await this.deps.inbox.reject({
        intake: delivery.intake,
        statusCode: answer.statusCode,
        reason,
        ...extra,
        bodyHash: sha256(raw),
        bodySize: raw.length,
        body: keptBody(raw),
      });
      return answer;
    };

    if (raw.length > MAX_EVENT_BYTES) {
      const error = `the body is ${raw.length} bytes; at most ${MAX_EVENT_BYTES} (256 KiB) are accepted`;
      return reject(problem(413, error), error);
    }
    if (delivery.unreadable) return reject(problem(delivery.unreadable.statusCode, delivery.unreadable.reason), delivery.unreadable.reason);
    const text = raw.toString('utf8');
    if (delivery.signatureRequired || SIGNATURE_HEADERS.some((name) => delivery.headers[name] !== undefined)) {
      const signed = this.deps.signer.verify(text, delivery.headers, { maxAgeSeconds: delivery.intake === 'http' ? SIGNATURE_TOLERANCE_SECONDS : Infinity });
      if (!signed.ok) return reject(problem(401, `signature refused: ${signed.reason}`), signed.reason);
    }

    const read = readEvent(delivery, text);
    if (!read.ok) return reject(problem(400, read.error), read.error);
    const body = read.body;
    // `null`, a number or a string is JSON too: it has no id or type to quote.
    const envelope = (typeof body === 'object' && body !== null ? body : {}) as { id?: unknown; type?: unknown };
    const ids = {
      ...(typeof envelope.id === 'string' && { eventId: envelope.id }),
      ...(typeof envelope.type === 'string' && { eventType: envelope.type }),
    };
    const parsed = parseInboundEvent(body);
    if (!parsed.ok) {
      const error = `the event does not match the contract (${parsed.problems.length} problem${parsed.problems.length > 1 ? 's' : ''})`;
      return reject(problem(422, error, parsed.problems), error, { ...ids, problems: parsed.problems });
    }
    const event = withCardNumbersMasked(parsed.event);

    const taken = await this.transactionTaken(event);
    if (taken) return reject(problem(409, taken), taken, ids);

    const workflowId = eventWorkflowId(event);
    const accepted: AcceptedBody = {
      eventId: event.id,
      refunds: event.type === 'refund.requested' ? [{ refundId: event.data.refundId, status: 'received', workflowId, uiUrl: this.deps.uiUrl(workflowId) }] : [],
      workflowId,
      uiUrl: this.deps.uiUrl(workflowId),
    };
    const stored = { statusCode: 202, body: accepted };
    const result = await this.deps.inbox.accept({ event, intake: delivery.intake, bodyHash: sha256(raw), answer: stored });
    switch (result.kind) {
      case 'duplicate':
        return again(result.answer);
      case 'eventIdReused': {
        const error = `event id ${event.id} was already accepted with a different body; a new event needs a new id`;
        return reject(problem(409, error), error, ids);
      }
      case 'refundIdConflict': {
        const error =
          event.type === 'refund.requested'
            ? `refund id ${event.data.refundId} was first requested in event ${result.eventId} with other contents; ` +
              'a different refund needs a different refundId'
            : 'conflict';
        return reject(problem(409, error), error, ids);
      }
      case 'accepted':
        return this.startNowOrLater(event, stored);
    }
  }

  /** An Oen transaction that already has a live or succeeded refund under another refund id. */
  private async transactionTaken(event: InboundEvent): Promise<string | undefined> {
    if (event.type !== 'refund.requested' || event.data.provider !== 'oen') return undefined;
    const existing = await this.deps.ledger.liveRefundOfTransaction(event.data.transactionHid);
    if (!existing || existing.refundId === event.data.refundId) return undefined;
    return oneRefundPerTransaction(event.data.transactionHid, existing);
  }

  /**
   * Starts the event's run at once while this process has a place for it (src/api/admission.ts);
   * with every place taken, a refund's event waits in the inbox for the dispatcher, unless the
   * ledger already has its refund, which is answered now as it stands.
   */
  private async startNowOrLater(event: InboundEvent, stored: StoredAnswer): Promise<Answer> {
    const { admission } = this.deps;
    if (event.type === 'refund.requested' && admission && !admission.startNow(event.data.refundId)) {
      const record = await alreadyInLedger(this.deps, event);
      return record ? known(stored, record) : stored;
    }
    const outcome = await dispatchEvent(this.deps, event, this.deps.startTimeoutMs ?? 5_000);
    if (event.type === 'refund.requested' && outcome.kind !== 'started') admission?.release(event.data.refundId);
    if (outcome.kind === 'refused') return outcome.answer;
    if (outcome.kind === 'known') return known(stored, outcome.record);
    return stored;
  }
}

/** The refund id has a run already (a new event for it): it is not started again; here is where it stands. */
function known(stored: StoredAnswer, record: RefundRecord): Answer {
  const body = stored.body as AcceptedBody;
  return { statusCode: 200, body: { ...body, refunds: body.refunds.map((r) => ({ ...r, status: record.status })) } };
}

/**
 * The event as JSON: a structured body parsed; in binary mode its attributes with its data, parsed
 * when `datacontenttype` says JSON (or is not given) — the JSON media type with a UTF-8 charset
 * parameter is taken as the contract's `application/json`. Data of another type is left as text,
 * for the schema to refuse with its datacontenttype.
 */
function readEvent(delivery: Delivery, text: string): { ok: true; body: unknown } | { ok: false; error: string } {
  const parse = (json: string, what: string): { ok: true; body: unknown } | { ok: false; error: string } => {
    try {
      return { ok: true, body: JSON.parse(json) };
    } catch (err) {
      return { ok: false, error: `${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
  if (!delivery.binary) return parse(text, 'the body');
  const { attributes, data } = delivery.binary;
  const type = attributes.datacontenttype;
  const json = type === undefined || /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i.test(type);
  const envelope = { ...attributes, ...(type !== undefined && json && { datacontenttype: 'application/json' }) };
  if (!json) return { ok: true, body: { ...envelope, data: data.toString('utf8') } };
  const parsed = parse(data.toString('utf8'), "the event's data (binary mode: the message body)");
  return parsed.ok ? { ok: true, body: { ...envelope, data: parsed.body } } : parsed;
}

/** The same event id and body again: the same body, with 200 where the first answer was 202. */
function again(answer: StoredAnswer): Answer {
  return { statusCode: answer.statusCode === 202 ? 200 : answer.statusCode, body: answer.body };
}
