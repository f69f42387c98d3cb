import { createRequire } from 'node:module';
import type { AsyncMessage } from 'rabbitmq-client';

/**
 * rabbitmq-client (5.0.8, and its master as of this writing) hands a consumer the body of a message
 * whose content type is exactly `application/json` as the value JSON.parse made of it, and one of
 * `text/plain` as a string, with no option to keep the bytes. The intake needs the bytes: a
 * signature covers them as sent, and a binary-mode CloudEvent's data is usually `application/json`.
 *
 * So, for the consumer tags registered here only, the client's channel is shown each such message's
 * header without its content type (it then leaves the body a Buffer), and the content type is kept
 * on the delivered message under a symbol that `contentTypeOf` reads. Every other consumer in the
 * process (a test's, an outcome publisher's) is left as the client made it. This reaches into the
 * client's internals (Channel#_onHeader and the delivery it is reading): installing it checks they
 * are there, and the intake's tests of a signed `application/json` binary message fail if they
 * ever stop working. An option for raw bodies in the client would make this file go.
 */

const KEPT_CONTENT_TYPE = Symbol('refundflow: the content type hidden from the client so that it keeps the body as bytes');

interface HeaderFrame {
  fields: { contentType?: string | undefined; [KEPT_CONTENT_TYPE]?: string };
}
interface ChannelInternals {
  _state?: { incoming?: { methodFrame?: { params?: { consumerTag?: unknown } } } };
  _onHeader(frame: HeaderFrame): unknown;
}

const rawTags = new Set<string>();
let installed = false;

function install(): void {
  if (installed) return;
  const { Channel } = createRequire(import.meta.url)('rabbitmq-client/lib/Channel.js') as { Channel?: { prototype: ChannelInternals } };
  const proto = Channel?.prototype;
  const original = proto && (Object.getOwnPropertyDescriptor(proto, '_onHeader')?.value as ChannelInternals['_onHeader'] | undefined);
  if (!proto || typeof original !== 'function') {
    throw new Error('rabbitmq-client has no Channel#_onHeader: src/api/brokers/amqp-raw-body.ts no longer fits this version of it');
  }
  proto._onHeader = function (this: ChannelInternals, frame: HeaderFrame) {
    const tag = this._state?.incoming?.methodFrame?.params?.consumerTag;
    const { contentType } = frame.fields;
    if (typeof tag === 'string' && rawTags.has(tag) && contentType !== undefined) {
      frame.fields = { ...frame.fields, contentType: undefined, [KEPT_CONTENT_TYPE]: contentType };
    }
    return original.call(this, frame);
  };
  installed = true;
}

/** Messages delivered to `consumerTag` keep their bodies as bytes; the returned function ends that. */
export function keepRawBodies(consumerTag: string): () => void {
  install();
  rawTags.add(consumerTag);
  return () => rawTags.delete(consumerTag);
}

/** The content type a message was sent with, also when keepRawBodies hid it from the client. */
export function contentTypeOf(message: AsyncMessage): string | undefined {
  return message.contentType ?? (message as AsyncMessage & { [KEPT_CONTENT_TYPE]?: string })[KEPT_CONTENT_TYPE];
}
