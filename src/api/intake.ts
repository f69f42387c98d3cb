import { eventWorkflowId } from '../client/events.js';
import { parseInboundEvent, withCardNumbersMasked, type FieldProblem, type InboundEvent } from '../domain/schemas/events.js';
import { maskPans } from '../domain/pan.js';
import { oneRefundPerTransaction } from '../domain/refund-start.js';
import type { StoredAnswer } from '../ledger/inbox.js';
import type { Signer } from '../webhooks/signing.js';
import { problem, type Answer } from './answers.js';
import { dispatchEvent, type DispatchDeps } from './dispatcher.js';
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

/**
 * POST /v1/events, from the raw bytes: size, signature, JSON, schema, conflicts, then the inbox
 * (durable) and only then the answer. The workflow is started at once when Temporal answers in
 * time; otherwise the dispatcher starts it from the inbox. Every refusal is stored.
 */
export class EventIntake {
  constructor(private readonly deps: IntakeDeps) {}

  async receive(raw: Buffer, headers: Record<string, string | string[] | undefined>): Promise<Answer> {
    const reject = async (answer: Answer, reason: string, extra: { eventId?: string; eventType?: string; problems?: FieldProblem[] } = {}) => {
      await this.deps.inbox.reject({
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
    const text = raw.toString('utf8');
    const signed = this.deps.signer.verify(text, headers);
    if (!signed.ok) return reject(problem(401, `signature refused: ${signed.reason}`), signed.reason);

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      const error = `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
      return reject(problem(400, error), error);
    }
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
    const result = await this.deps.inbox.accept({ event, bodyHash: sha256(raw), answer: stored });
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
        return this.startNow(event, stored);
    }
  }

  /** An Oen transaction that already has a live or succeeded refund under another refund id. */
  private async transactionTaken(event: InboundEvent): Promise<string | undefined> {
    if (event.type !== 'refund.requested' || event.data.provider !== 'oen') return undefined;
    const existing = await this.deps.ledger.liveRefundOfTransaction(event.data.transactionHid);
    if (!existing || existing.refundId === event.data.refundId) return undefined;
    return oneRefundPerTransaction(event.data.transactionHid, existing);
  }

  private async startNow(event: InboundEvent, stored: StoredAnswer): Promise<Answer> {
    const outcome = await dispatchEvent(this.deps, event, this.deps.startTimeoutMs ?? 5_000);
    if (outcome.kind === 'refused') return outcome.answer;
    if (outcome.kind === 'known') {
      // The refund id has a run already (a new event for it): it is not started again; here is where it stands.
      const body = stored.body as AcceptedBody;
      return { statusCode: 200, body: { ...body, refunds: body.refunds.map((r) => ({ ...r, status: outcome.record.status })) } };
    }
    return stored;
  }
}

/** The same event id and body again: the same body, with 200 where the first answer was 202. */
function again(answer: StoredAnswer): Answer {
  return { statusCode: answer.statusCode === 202 ? 200 : answer.statusCode, body: answer.body };
}
