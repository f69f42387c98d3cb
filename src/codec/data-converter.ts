import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter, type FailureConverter, type LoadedDataConverter } from '@temporalio/common';
import type { Config } from '../config.js';
import { AesGcmCodec, parsePayloadKeys } from './aes-gcm.js';

export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));
const { failureConverter } = createRequire(import.meta.url)(failureConverterPath) as { failureConverter: FailureConverter };

type KeyConfig = Pick<Config, 'PAYLOAD_ENCRYPTION_KEYS'>;

/** The payload codec PAYLOAD_ENCRYPTION_KEYS asks for, or none when it is unset. */
export function payloadCodecFor(config: KeyConfig): AesGcmCodec | undefined {
  return config.PAYLOAD_ENCRYPTION_KEYS ? new AesGcmCodec(parsePayloadKeys(config.PAYLOAD_ENCRYPTION_KEYS)) : undefined;
}

/** For clients (the API, scripts, tests): encrypted payloads and failures when keys are configured. */
export function clientDataConverter(config: KeyConfig): Partial<LoadedDataConverter> {
  const codec = payloadCodecFor(config);
  return codec ? { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: [codec] } : {};
}

/**
 * For the worker: the same, with the failure converter named by path, which is how the worker loads
 * it and bundles it into the workflow code (a prebuilt bundle must be built with that path too).
 */
export function workerDataConverter(config: KeyConfig): { payloadCodecs?: AesGcmCodec[]; failureConverterPath?: string } {
  const codec = payloadCodecFor(config);
  return codec ? { payloadCodecs: [codec], failureConverterPath } : {};
}
