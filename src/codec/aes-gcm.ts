import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees only its default export
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** PAYLOAD_ENCRYPTION_KEYS (`id:base64,id:base64`, validated by src/config.ts) as keys, first first. */
export function parsePayloadKeys(value: string): PayloadKey[] {
  return value.split(',').map((entry) => {
    const [id, key] = entry.trim().split(':') as [string, string];
    return { id, key: Buffer.from(key, 'base64') };
  });
}

export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * Encrypts every payload whole (its metadata and data, serialized) with AES-256-GCM under the first
 * key, and names the key in the new payload's metadata, so payloads written under a key that has
 * since been rotated out of first place still decode. The key id is authenticated too: a payload
 * relabelled with another key id fails to decode rather than decrypting under the wrong key.
 * Payloads that are not encrypted (from before encryption was on, or sent by the `temporal` CLI or
 * the Web UI without the codec) pass through unchanged.
 */
export class AesGcmCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly current: PayloadKey;

  constructor(keys: readonly PayloadKey[]) {
    const [current] = keys;
    if (!current) throw new Error('AesGcmCodec needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`Payload key "${id}" must be 32 bytes, not ${key.length}`);
    }
    this.current = current;
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
  }

  get keyId(): string {
    return this.current.id;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => this.encrypt(payload))));
  }

  /** Rejects (rather than passing the payload on) when an encrypted payload cannot be decrypted. */
  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload))));
  }

  private encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(utf8.encode(this.current.id));
    const plain = PayloadMessage.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: utf8.encode(this.current.id),
        [CIPHER_METADATA]: utf8.encode(CIPHER),
      },
      data,
    };
  }

  private decrypt(payload: Payload): Payload {
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    const keyId = rawId ? text.decode(rawId) : undefined;
    if (!keyId) throw new PayloadDecryptionError('Encrypted payload without a key id');
    const key = this.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `Payload encrypted under key "${keyId}", which is not among PAYLOAD_ENCRYPTION_KEYS (${[...this.keys.keys()].join(', ')})`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError(`Encrypted payload under key "${keyId}" is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(utf8.encode(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`Encrypted payload under key "${keyId}" failed authentication: altered, or a different key with that id`);
    }
    return PayloadMessage.decode(plain);
  }
}

function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && text.decode(encoding) === ENCRYPTED_ENCODING;
}
