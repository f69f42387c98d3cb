import { fileURLToPath } from 'node:url';
import { codecAllowedOrigin, loadConfigOrExit } from '../config.js';
import { handleShutdownSignals } from '../shutdown.js';
import { payloadCodecFor } from './data-converter.js';
import { createCodecServer } from './server.js';

/** `npm run codec-server`: decodes this engine's payloads for the Web UI and the `temporal` CLI. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const codec = payloadCodecFor(config);
  if (!codec) {
    console.error('PAYLOAD_ENCRYPTION_KEYS is not set: there is nothing for a codec server to decode');
    process.exit(1);
  }
  if (!config.CODEC_SERVER_TOKEN) {
    console.error('CODEC_SERVER_TOKEN is required: the codec server answers only callers that present it');
    process.exit(1);
  }
  const allowedOrigin = codecAllowedOrigin(config);
  const app = createCodecServer({ codec, token: config.CODEC_SERVER_TOKEN, allowedOrigin });
  await app.listen({ port: config.CODEC_SERVER_PORT, host: '0.0.0.0' });
  console.log(`Codec server on http://localhost:${config.CODEC_SERVER_PORT}, for the Web UI at ${allowedOrigin}; encrypting under key "${codec.keyId}"`);
  handleShutdownSignals({ stop: () => void app.close(), force: () => process.exit(130) });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`Codec server failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
