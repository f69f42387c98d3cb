import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withoutPassword } from '../../src/api/brokers/intake-deps.js';
import { ackOf, deliveryOf, refusalHeaders, retryDelayMs } from '../../src/api/brokers/ack.js';
import {
  amqpBinaryProperties,
  binaryAttributes,
  binarySignedContent,
  natsBinaryHeaders,
  natsHeaderEncode,
  natsHeaderValue,
  readAmqpMessage,
  readNatsMessage,
} from '../../src/webhooks/cloudevents-binding.js';

/**
 * The CloudEvents AMQP and NATS bindings as the broker intakes read them, and what a signature
 * covers in binary mode (docs/api.md, "Events over RabbitMQ and NATS"), as tables.
 */

const data = Buffer.from('{"refundId":"RF-1","provider":"oen","orderId":"O-1","transactionHid":"P20261125AAAAAAAA","amount":1000}');
const event = { specversion: '1.0', id: 'evt-1', source: 'order-management', type: 'refund.requested', data: JSON.parse(data.toString()) as unknown };

describe('the AMQP binding', () => {
  it.each([
    ['application/cloudevents+json', 'structured'],
    ['application/cloudevents+json; charset=UTF-8', 'structured'],
    ['Application/CloudEvents+JSON', 'structured'],
    ['application/json', 'binary'],
    [undefined, 'binary'],
  ])('content type %s: %s mode', (contentType, mode) => {
    const headers = mode === 'binary' ? { 'cloudEvents:id': 'evt-1' } : {};
    expect(readAmqpMessage({ contentType, headers, body: data }).kind).toBe(mode);
  });

  it('a CloudEvents format other than JSON, or a batch, is refused with 415', () => {
    for (const contentType of ['application/cloudevents+avro', 'application/cloudevents-batch+json']) {
      expect(readAmqpMessage({ contentType, body: data })).toMatchObject({ kind: 'unreadable', statusCode: 415 });
    }
  });

  it('binary mode: cloudEvents_ or cloudEvents: headers (any case of the prefix), the content type as datacontenttype, the body as data', () => {
    for (const separator of ['_', ':']) {
      const read = readAmqpMessage({
        contentType: 'application/json',
        headers: { [`cloudEvents${separator}id`]: 'evt-1', [`CLOUDEVENTS${separator}type`]: 'refund.requested', other: 'x' },
        body: data,
      });
      expect(read).toEqual({ kind: 'binary', attributes: { id: 'evt-1', type: 'refund.requested', datacontenttype: 'application/json' }, data });
    }
  });

  it("binary mode: native AMQP values as their canonical strings (a timestamp's seconds as an RFC 3339 time)", () => {
    const read = readAmqpMessage({ headers: { cloudEvents_id: 'e', cloudEvents_time: 1795590937, cloudEvents_count: 3, cloudEvents_flag: true }, body: data });
    expect(read).toMatchObject({ attributes: { time: '2026-11-25T07:15:37Z', count: '3', flag: 'true' } });
  });

  it.each([
    ['mixed separators', { 'cloudEvents:id': 'e', cloudEvents_type: 't' }, /one separator/],
    ['no attributes', { other: 'x' }, /no CloudEvents attributes.*application\/cloudevents\+json/],
    ['a control character', { cloudEvents_id: 'e', cloudEvents_subject: 'a\nid=forged' }, /control character/],
    ['a name that is not lower-case letters and digits', { 'cloudEvents_my-ext': 'x' }, /lower-case letters and digits/],
    ['a table', { cloudEvents_id: { nested: true } }, /not a string/],
    ['twice', { cloudEvents_id: 'a', cloudEvents_ID: 'b' }, /given twice/],
  ])('binary mode refuses %s (400)', (_name, headers, reason) => {
    const read = readAmqpMessage({ contentType: 'application/json', headers, body: data });
    expect(read).toMatchObject({ kind: 'unreadable', statusCode: 400 });
    expect(read.kind === 'unreadable' && read.reason).toMatch(reason);
  });

  it('what amqpBinaryProperties writes reads back as the event', () => {
    const { contentType, headers } = amqpBinaryProperties(event);
    expect(readAmqpMessage({ contentType, headers, body: data })).toEqual({ kind: 'binary', attributes: binaryAttributes(event), data });
  });
});

describe('the NATS binding', () => {
  it('structured by the Content-Type header (any case of its name), binary otherwise', () => {
    expect(readNatsMessage([['content-type', ['application/cloudevents+json']]], data).kind).toBe('structured');
    expect(
      readNatsMessage(
        [
          ['Content-Type', ['application/json']],
          ['ce-id', ['e']],
        ],
        data,
      ).kind,
    ).toBe('binary');
  });

  it('binary mode: ce- headers, percent-decoded and unquoted, datacontenttype among them', () => {
    const read = readNatsMessage(
      [
        ['ce-id', ['evt-1']],
        ['CE-Source', ['Euro%20%E2%82%AC%20%F0%9F%98%80']],
        ['ce-subject', ['"quoted \\"value\\""']],
        ['ce-datacontenttype', ['application/json']],
      ],
      data,
    );
    expect(read).toEqual({
      kind: 'binary',
      attributes: { id: 'evt-1', source: 'Euro € 😀', subject: 'quoted "value"', datacontenttype: 'application/json' },
      data,
    });
  });

  it('refuses percent-encoded bytes that are not UTF-8 (an overlong space), and an attribute given twice', () => {
    expect(readNatsMessage([['ce-id', ['%C0%A0']]], data)).toMatchObject({
      kind: 'unreadable',
      statusCode: 400,
      reason: expect.stringMatching(/not UTF-8/) as unknown,
    });
    expect(readNatsMessage([['ce-id', ['a', 'b']]], data)).toMatchObject({ kind: 'unreadable', statusCode: 400 });
  });

  it('percent-encodes space, ", % and everything outside printable ASCII (upper-case hex), and decodes it back', () => {
    expect(natsHeaderEncode('Euro € 😀 "50%"')).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80%20%2250%25%22');
    for (const text of ['Euro € 😀 "50%"', 'order management/台北', 'plain']) expect(natsHeaderValue(natsHeaderEncode(text))).toBe(text);
    expect(natsHeaderValue('%e2%82%ac')).toBe('€');
  });

  it('what natsBinaryHeaders writes reads back as the event', () => {
    const headers = Object.entries(natsBinaryHeaders({ ...event, source: 'order management/台北' })).map(([k, v]) => [k, [v]] as [string, string[]]);
    expect(readNatsMessage(headers, data)).toEqual({ kind: 'binary', attributes: binaryAttributes({ ...event, source: 'order management/台北' }), data });
  });
});

describe("binary mode's signed content", () => {
  it('is the attributes as sorted name=value lines, an empty line, then the data as sent (the example of docs/api.md)', () => {
    const data = '{"refundId":"RF-1001","provider":"oen","orderId":"ORDER00001","transactionHid":"P20240412CIK7KPPH","amount":1000}';
    const attributes = {
      specversion: '1.0',
      id: 'evt_123',
      source: 'order-management',
      type: 'refund.requested',
      time: '2026-11-22T08:00:00Z',
      datacontenttype: 'application/json',
    };
    const content = binarySignedContent(attributes, Buffer.from(data)).toString('utf8');
    expect(content).toBe(
      'datacontenttype=application/json\nid=evt_123\nsource=order-management\nspecversion=1.0\ntime=2026-11-22T08:00:00Z\ntype=refund.requested\n\n' + data,
    );
    // docs/api.md shows it, and the TypeScript that makes it.
    const docs = readFileSync('docs/api.md', 'utf8');
    expect(docs).toContain(`\n${content}\n\`\`\``);
    const recipe = Object.keys(attributes)
      .sort()
      .map((name) => `${name}=${attributes[name as keyof typeof attributes]}\n`)
      .join('');
    expect(`${recipe}\n${data}`).toBe(content);
  });

  it('changes with any attribute: type, id, an extension, one added or removed', () => {
    const base = binaryAttributes(event);
    const signed = binarySignedContent(base, data).toString();
    for (const changed of [
      { ...base, type: 'order.cancelled' },
      { ...base, id: 'evt-2' },
      { ...base, subject: 'x' },
      { ...base, datacontenttype: 'text/plain' },
    ]) {
      expect(binarySignedContent(changed, data).toString()).not.toBe(signed);
    }
    const withoutSource = Object.fromEntries(Object.entries(base).filter(([name]) => name !== 'source'));
    expect(binarySignedContent(withoutSource, data).toString()).not.toBe(signed);
    expect(binarySignedContent(base, Buffer.from(`${data.toString()} `)).toString()).not.toBe(signed);
  });

  it('is what a broker delivery hands the intake to check, hash and keep (structured: the body as it is)', () => {
    const binary = deliveryOf('nats', { kind: 'binary', attributes: binaryAttributes(event), data }, data, {}, true);
    expect(binary.content).toEqual(binarySignedContent(binaryAttributes(event), data));
    expect(binary.binary).toEqual({ attributes: binaryAttributes(event), data });
    expect(deliveryOf('amqp', { kind: 'structured', body: data }, data, {}, false).content).toBe(data);
    expect(deliveryOf('amqp', { kind: 'unreadable', statusCode: 415, reason: 'r' }, data, {}, false)).toMatchObject({
      content: data,
      unreadable: { statusCode: 415 },
    });
  });
});

describe("a broker consumer's acknowledgement of the intake's answer", () => {
  it('202 and 200 are acked; a refusal is dead-lettered with its status, reason and problems as headers', () => {
    expect(ackOf({ statusCode: 202, body: {} })).toEqual({ kind: 'ack', result: 'accepted' });
    expect(ackOf({ statusCode: 200, body: {} })).toEqual({ kind: 'ack', result: 'duplicate' });
    const refused = ackOf({
      statusCode: 422,
      body: { error: 'the event does not match the contract (1 problem)', problems: [{ field: 'type', problem: 'x' }] },
    });
    expect(refused).toEqual({
      kind: 'deadLetter',
      refusal: { statusCode: 422, reason: 'the event does not match the contract (1 problem)', problems: [{ field: 'type', problem: 'x' }] },
    });
    if (refused.kind !== 'deadLetter') throw new Error('not a refusal');
    expect(refusalHeaders(refused.refusal, 'amqp', new Date('2026-12-01T00:00:00Z'))).toEqual({
      'refundflow-refusal-status': '422',
      'refundflow-refusal-reason': 'the event does not match the contract (1 problem)',
      'refundflow-refusal-problems': '[{"field":"type","problem":"x"}]',
      'refundflow-intake': 'amqp',
      'refundflow-refused-at': '2026-12-01T00:00:00.000Z',
    });
  });

  it('a card number in a reason is masked in the headers, and a long reason cut', () => {
    const headers = refusalHeaders({ statusCode: 400, reason: `the body is not valid JSON: "4242424242424242${'x'.repeat(5000)}` }, 'nats');
    expect(headers['refundflow-refusal-reason']).not.toContain('424242424242');
    expect(headers['refundflow-refusal-reason']?.length).toBeLessThanOrEqual(2048);
  });

  it('a message it could not take comes back after 1 s, doubling to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});

describe('a broker URL as the banner, the logs and /readyz show it', () => {
  it.each([
    ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:…@127.0.0.1:5672'],
    ['amqps://refundflow:p%40ss@rabbitmq.internal:5671/orders', 'amqps://refundflow:…@rabbitmq.internal:5671/orders'],
    ['amqp://127.0.0.1', 'amqp://127.0.0.1'],
    ['nats://s3cr3t-token@nats.internal:4222', 'nats://…@nats.internal:4222'],
    ['tls://user:pw@nats.internal:4222', 'tls://user:…@nats.internal:4222'],
  ])('%s → %s', (url, shown) => {
    expect(withoutPassword(url)).toBe(shown);
  });
});
