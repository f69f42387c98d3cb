/**
 * CloudEvents over a broker: the AMQP protocol binding (as RabbitMQ's AMQP 0-9-1 carries it: the
 * binding's application-properties are the message's headers table, its content-type the message's
 * content-type property) and the NATS protocol binding, both at version 1.0.3-wip of
 * github.com/cloudevents/spec (cloudevents/bindings/amqp-protocol-binding.md, nats-protocol-binding.md).
 *
 * - Structured mode: the content type starts with `application/cloudevents` (any case); the body is
 *   the whole event in the JSON event format (`application/cloudevents+json`, the one format taken).
 * - Binary mode: anything else. The body is the event's `data`; its attributes are headers —
 *   `cloudEvents:<name>` or `cloudEvents_<name>` on AMQP (one separator per message), with
 *   `datacontenttype` in the content-type property; `ce-<name>` on NATS, `ce-datacontenttype`
 *   included, each value percent-encoded UTF-8.
 *
 * And what a Standard Webhooks signature covers in binary mode (docs/api.md, "Events over RabbitMQ
 * and NATS"): the attributes and the data together, so that a publisher without the secret cannot
 * turn a signed `refund.requested` into something else by changing a header.
 */

/** What a broker message holds, read by the binding: by its CloudEvents mode (`kind`), or unreadable. */
export type BrokerEvent =
  | { kind: 'structured'; body: Buffer }
  | { kind: 'binary'; attributes: Record<string, string>; data: Buffer }
  /** Not readable as a CloudEvent: refused with this status and reason. */
  | { kind: 'unreadable'; statusCode: number; reason: string };

/** The JSON event format's media type: the one structured mode taken. */
export const STRUCTURED_JSON = 'application/cloudevents+json';

/** CloudEvents attribute names: lower-case letters and digits (the spec, "Attribute Naming Convention"). */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
/** Characters an attribute value may not hold (the spec's type system): controls, C0 and C1. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const mediaType = (contentType: string) => (contentType.split(';')[0] ?? '').trim().toLowerCase();
const isStructured = (contentType: string | undefined) => contentType !== undefined && mediaType(contentType).startsWith('application/cloudevents');

function structured(contentType: string, body: Buffer): BrokerEvent {
  if (mediaType(contentType) === STRUCTURED_JSON) return { kind: 'structured', body };
  return {
    kind: 'unreadable',
    statusCode: 415,
    reason: `content type ${JSON.stringify(contentType)} is a CloudEvents format other than JSON: structured events are taken as ${STRUCTURED_JSON} only (batches neither)`,
  };
}

const noAttributes = (prefix: string): BrokerEvent => ({
  kind: 'unreadable',
  statusCode: 400,
  reason:
    `no CloudEvents attributes in the message headers: in binary mode each attribute is a header ${prefix}<name> (id, source, type, specversion), ` +
    `and the body is the event's data; a whole event as the body is structured mode, with content type ${STRUCTURED_JSON}`,
});

function checked(attributes: Record<string, string>, header: (name: string) => string): BrokerEvent | undefined {
  for (const [name, value] of Object.entries(attributes)) {
    if (!ATTRIBUTE_NAME.test(name)) {
      return { kind: 'unreadable', statusCode: 400, reason: `header ${header(name)}: a CloudEvents attribute name is lower-case letters and digits` };
    }
    if (CONTROL.test(value))
      return { kind: 'unreadable', statusCode: 400, reason: `header ${header(name)} holds a control character, which no attribute value may` };
  }
  return undefined;
}

/** The canonical string of an AMQP header value (the binding's type mapping); undefined for a type no attribute has. */
function amqpValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return String(value);
  // AMQP's timestamp arrives as its seconds, like a long: a time is taken as an RFC 3339 time, anything else as the integer.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return undefined;
}

/**
 * An AMQP message (content type, headers table, body bytes) as a CloudEvent, per the AMQP binding.
 * A `time` sent as an AMQP timestamp is read as its RFC 3339 string, with whole seconds.
 */
export function readAmqpMessage(message: { contentType?: string | undefined; headers?: Record<string, unknown> | undefined; body: Buffer }): BrokerEvent {
  const { contentType, body } = message;
  if (contentType !== undefined && isStructured(contentType)) return structured(contentType, body);
  const attributes: Record<string, string> = {};
  const separators = new Set<string>();
  for (const [header, value] of Object.entries(message.headers ?? {})) {
    const match = /^cloudevents([:_])(.*)$/i.exec(header);
    if (!match) continue;
    const [, separator = '', rawName = ''] = match;
    separators.add(separator);
    const name = rawName.toLowerCase();
    const text = name === 'time' && typeof value === 'number' && Number.isSafeInteger(value) ? amqpTime(value) : amqpValue(value);
    if (text === undefined) {
      return { kind: 'unreadable', statusCode: 400, reason: `header ${header} is not a string (or another type a CloudEvents attribute has)` };
    }
    if (name in attributes) return { kind: 'unreadable', statusCode: 400, reason: `the attribute ${name} is given twice (header ${header} and another)` };
    attributes[name] = text;
  }
  if (separators.size > 1) {
    return {
      kind: 'unreadable',
      statusCode: 400,
      reason: 'the message mixes cloudEvents: and cloudEvents_ headers; one message uses one separator for all its attributes (the AMQP binding)',
    };
  }
  if (Object.keys(attributes).length === 0) return noAttributes('cloudEvents_');
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  const separator = [...separators][0] ?? '_';
  return checked(attributes, (name) => `cloudEvents${separator}${name}`) ?? { kind: 'binary', attributes, data: body };
}

function amqpTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * A NATS header value as the binding decodes it: a double-quoted string unescaped, then one round
 * of percent-decoding; undefined when the bytes it decodes to are not UTF-8.
 */
export function natsHeaderValue(raw: string): string | undefined {
  const unquoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  const bytes: number[] = [];
  for (let i = 0; i < unquoted.length; i += 1) {
    const hex = unquoted.slice(i + 1, i + 3);
    if (unquoted[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = unquoted.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(code);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** A value percent-encoded for a NATS header: space, `"`, `%` and everything outside printable ASCII, as UTF-8 bytes. */
export function natsHeaderEncode(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== '%') out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A NATS message (its headers, each name with its values, and its payload) as a CloudEvent, per the
 * NATS binding. Header names are matched in any case, as NATS's are.
 */
export function readNatsMessage(headers: Iterable<[string, string[]]>, data: Buffer): BrokerEvent {
  const all = [...headers];
  const contentType = all.find(([name]) => name.toLowerCase() === 'content-type')?.[1][0];
  if (contentType !== undefined && isStructured(contentType)) return structured(contentType, data);
  const attributes: Record<string, string> = {};
  for (const [header, values] of all) {
    if (!/^ce-/i.test(header)) continue;
    const name = header.slice(3).toLowerCase();
    if (values.length !== 1 || name in attributes) return { kind: 'unreadable', statusCode: 400, reason: `the attribute ${name} is given more than once` };
    const value = natsHeaderValue(values[0] ?? '');
    if (value === undefined) {
      return { kind: 'unreadable', statusCode: 400, reason: `header ${header}: its percent-encoded bytes are not UTF-8 (the NATS binding refuses them)` };
    }
    attributes[name] = value;
  }
  if (Object.keys(attributes).length === 0) return noAttributes('ce-');
  return checked(attributes, (name) => `ce-${name}`) ?? { kind: 'binary', attributes, data };
}

/**
 * What the Standard Webhooks signature of a binary-mode message covers, in place of HTTP's body:
 * every CloudEvents attribute of the message (`datacontenttype` included, extensions too) as a
 * `name=value` line, sorted by name, then an empty line, then the data's bytes as sent. Names are
 * lower-case letters and digits and values hold no line break (readNatsMessage and readAmqpMessage
 * refuse any other), so two different messages never share a signed content.
 */
export function binarySignedContent(attributes: Record<string, string>, data: Buffer): Buffer {
  const names = Object.keys(attributes).sort();
  const lines = names.map((name) => `${name}=${attributes[name]}\n`).join('');
  return Buffer.concat([Buffer.from(`${lines}\n`, 'utf8'), data]);
}

/**
 * The properties of a binary-mode AMQP message for an event (for publishers, and the tests): its
 * attributes but `data` and `datacontenttype` as `cloudEvents_` headers, `datacontenttype` as the
 * content type (application/json when the event has none).
 */
export function amqpBinaryProperties(event: Record<string, unknown>): { contentType: string; headers: Record<string, string> } {
  const { datacontenttype, ...rest } = attributesOf(event);
  const headers = Object.fromEntries(Object.entries(rest).map(([name, value]) => [`cloudEvents_${name}`, String(value)]));
  return { contentType: typeof datacontenttype === 'string' ? datacontenttype : 'application/json', headers };
}

/** The headers of a binary-mode NATS message for an event: every attribute but `data` as `ce-<name>`, percent-encoded. */
export function natsBinaryHeaders(event: Record<string, unknown>): Record<string, string> {
  const withType = { datacontenttype: 'application/json', ...attributesOf(event) };
  return Object.fromEntries(Object.entries(withType).map(([name, value]) => [`ce-${name}`, natsHeaderEncode(String(value))]));
}

/** The attributes a binary-mode message of `event` carries (as the readers return them): for signing it. */
export function binaryAttributes(event: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries({ datacontenttype: 'application/json', ...attributesOf(event) }).map(([name, value]) => [name, String(value)]));
}

/** An event's attributes: every member but `data`. */
function attributesOf(event: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([name]) => name !== 'data'));
}
