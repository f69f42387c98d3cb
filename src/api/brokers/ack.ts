import type { BrokerIntakeName } from '../../domain/intakes.js';
import { maskPans } from '../../domain/pan.js';
import type { FieldProblem } from '../../domain/schemas/events.js';
import { binarySignedContent, type BrokerEvent } from '../../webhooks/cloudevents-binding.js';
import type { Answer } from '../answers.js';
import type { Delivery, DeliveryHeaders } from '../intake.js';

/**
 * What a broker consumer does with a message once the intake has answered (docs/api.md, "Events over
 * RabbitMQ and NATS"): the same answers HTTP gives, mapped to the broker's acknowledgements. The
 * intake answers only after its inbox write (or its refusal's) has committed, so an ack never
 * precedes the commit; when it throws, nothing is acked and the broker delivers the message again.
 */
export type BrokerAck =
  /** 202 (accepted) or 200 (the same event again, or a refund the ledger already has): ack. */
  | { kind: 'ack'; result: 'accepted' | 'duplicate' }
  /** A refusal, already kept in rejected_requests (or the inbox): publish it to the dead-letter destination, then ack. */
  | { kind: 'deadLetter'; refusal: Refusal };

export interface Refusal {
  statusCode: number;
  reason: string;
  problems?: FieldProblem[];
}

export function ackOf(answer: Answer): BrokerAck {
  if (answer.statusCode === 202) return { kind: 'ack', result: 'accepted' };
  if (answer.statusCode < 300) return { kind: 'ack', result: 'duplicate' };
  const body = (answer.body ?? {}) as { error?: unknown; problems?: FieldProblem[] };
  return {
    kind: 'deadLetter',
    refusal: {
      statusCode: answer.statusCode,
      reason: typeof body.error === 'string' ? body.error : `refused (${answer.statusCode})`,
      ...(body.problems && { problems: body.problems }),
    },
  };
}

/** The longest reason, and the longest problem list, a dead letter's headers carry (the ledger keeps them whole). */
const MAX_HEADER_CHARS = 2_048;

/** The header names a dead letter carries its refusal in (docs/api.md). */
export const refusalHeaderNames = {
  status: 'refundflow-refusal-status',
  reason: 'refundflow-refusal-reason',
  problems: 'refundflow-refusal-problems',
  intake: 'refundflow-intake',
  refusedAt: 'refundflow-refused-at',
} as const;

/** The refusal as headers of the dead letter: status, reason, problems (JSON) when any, the intake, and when. Card numbers masked. */
export function refusalHeaders(refusal: Refusal, intake: BrokerIntakeName, at: Date = new Date()): Record<string, string> {
  const cut = (text: string) => (text.length > MAX_HEADER_CHARS ? `${text.slice(0, MAX_HEADER_CHARS - 1)}…` : text);
  return {
    [refusalHeaderNames.status]: String(refusal.statusCode),
    [refusalHeaderNames.reason]: cut(maskPans(refusal.reason)),
    ...(refusal.problems && refusal.problems.length > 0 && { [refusalHeaderNames.problems]: cut(maskPans(JSON.stringify(refusal.problems))) }),
    [refusalHeaderNames.intake]: intake,
    [refusalHeaderNames.refusedAt]: at.toISOString(),
  };
}

/**
 * A broker message read by the binding, as the intake takes it: a structured body as it is; a binary
 * one as its signed content with its attributes and data; an unreadable one refused.
 */
export function deliveryOf(intake: BrokerIntakeName, event: BrokerEvent, raw: Buffer, headers: DeliveryHeaders, signatureRequired: boolean): Delivery {
  const base = { intake, headers, signatureRequired };
  switch (event.kind) {
    case 'structured':
      return { ...base, content: event.body };
    case 'binary':
      return { ...base, content: binarySignedContent(event.attributes, event.data), binary: { attributes: event.attributes, data: event.data } };
    case 'unreadable':
      return { ...base, content: raw, unreadable: { statusCode: event.statusCode, reason: event.reason } };
  }
}

/**
 * How long a consumer waits before a message it could not handle (the ledger unreachable, anything
 * thrown) is delivered again: 1 s after the first failure in a row, doubling, at most 30 s.
 */
export function retryDelayMs(failuresInARow: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, failuresInARow - 1));
}

/** Waits `ms`, or less when `signal` aborts (a consumer stopping does not wait out a backoff). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
