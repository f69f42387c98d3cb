import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec, KEY_ID_METADATA, PayloadDecryptionError, parsePayloadKeys } from '../../src/codec/aes-gcm.js';
import { loadConfig } from '../../src/config.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const refund = { refundId: 'RF-1', amount: 1000, reason: '客戶取消訂單' };
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

describe('AesGcmCodec', () => {
  it('round-trips a payload, metadata included, and names its key', async () => {
    const codec = new AesGcmCodec([key('2026-11')]);
    const [encrypted] = await codec.encode([payloadOf(refund)]);
    expect(text(encrypted?.metadata?.encoding)).toBe('binary/encrypted');
    expect(text(encrypted?.metadata?.[KEY_ID_METADATA])).toBe('2026-11');
    expect(text(encrypted?.data)).not.toContain('RF-1');
    const [decoded] = await codec.decode([encrypted!]);
    expect(text(decoded?.metadata?.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(refund);
  });

  it('encrypts each payload under a fresh IV', async () => {
    const codec = new AesGcmCodec([key('k')]);
    const [a, b] = await codec.encode([payloadOf(refund), payloadOf(refund)]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('after a rotation, payloads written under the old key still decode; new ones use the new key', async () => {
    const old = key('2026-05');
    const [written] = await new AesGcmCodec([old]).encode([payloadOf(refund)]);
    const rotated = new AesGcmCodec([key('2026-11'), old]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([written!]))[0]!)).toEqual(refund);
    const [fresh] = await rotated.encode([payloadOf(refund)]);
    expect(text(fresh?.metadata?.[KEY_ID_METADATA])).toBe('2026-11');
  });

  it('refuses a payload under a key it does not have, naming the key id and never a key', async () => {
    const [written] = await new AesGcmCodec([key('retired')]).encode([payloadOf(refund)]);
    const current = key('current');
    const error = await new AesGcmCodec([current]).decode([written!]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PayloadDecryptionError);
    expect((error as Error).message).toMatch(/key "retired", which is not among PAYLOAD_ENCRYPTION_KEYS \(current\)/);
    expect((error as Error).message).not.toContain(current.key.toString('base64'));
  });

  it('refuses altered data and a payload relabelled with another key id', async () => {
    const a = key('a');
    const b = key('b');
    const codec = new AesGcmCodec([a, b]);
    const [written] = await new AesGcmCodec([a]).encode([payloadOf(refund)]);
    const flipped = Buffer.from(written!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...written!, data: flipped }])).rejects.toThrow(/failed authentication/);
    const relabelled = { ...written!, metadata: { ...written!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('b') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  it('passes unencrypted payloads through (the temporal CLI, the Web UI, runs from before encryption)', async () => {
    const plain = payloadOf({ by: 'ops' });
    expect(await new AesGcmCodec([key('k')]).decode([plain])).toEqual([plain]);
  });

  it('reads PAYLOAD_ENCRYPTION_KEYS as validated by the config, first key first', () => {
    const [k1, k2] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const config = loadConfig({ PAYLOAD_ENCRYPTION_KEYS: `new:${k1}, old:${k2}` });
    expect(parsePayloadKeys(config.PAYLOAD_ENCRYPTION_KEYS!).map(({ id, key }) => [id, key.toString('base64')])).toEqual([
      ['new', k1],
      ['old', k2],
    ]);
  });

  it.each([
    ['k1', /keyId:base64Key/],
    [`k1:${randomBytes(16).toString('base64')}`, /must be 32 bytes/],
    [`k1:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`, /appears twice/],
  ])('the config refuses %s with a clear line', (value, message) => {
    expect(() => loadConfig({ PAYLOAD_ENCRYPTION_KEYS: value })).toThrow(message);
  });
});
