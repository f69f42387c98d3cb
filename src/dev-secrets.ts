import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Config } from './config.js';

/**
 * The embedded development mode's secrets: when INGEST_WEBHOOK_SECRET, OPERATOR_TOKEN or (with
 * payload encryption on) CODEC_SERVER_TOKEN is unset,
 * `npm start` generates them once and keeps them in DATA_DIR/dev-secrets.json (mode 600), so they
 * survive a restart and the CLI on this machine can read them. Never used where they are set.
 */
const devSecrets = z.object({
  ingestWebhookSecret: z.string().startsWith('whsec_'),
  operatorToken: z.string().min(16),
  /** Added after the first two: a file from an earlier version gets it on its next use. */
  codecServerToken: z.string().min(16),
});
const storedSecrets = devSecrets.partial({ codecServerToken: true });
export type DevSecrets = z.infer<typeof devSecrets>;

export function devSecretsPath(config: Pick<Config, 'DATA_DIR'>): string {
  return join(resolve(config.DATA_DIR), 'dev-secrets.json');
}

export function readDevSecrets(config: Pick<Config, 'DATA_DIR'>): z.infer<typeof storedSecrets> | undefined {
  const path = devSecretsPath(config);
  if (!existsSync(path)) return undefined;
  const parsed = storedSecrets.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

export function ensureDevSecrets(config: Pick<Config, 'DATA_DIR'>): DevSecrets {
  const existing = readDevSecrets(config);
  if (existing?.codecServerToken) return { ...existing, codecServerToken: existing.codecServerToken };
  const secrets: DevSecrets = {
    ingestWebhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    operatorToken: randomBytes(24).toString('base64url'),
    ...existing,
    codecServerToken: randomBytes(24).toString('base64url'),
  };
  mkdirSync(resolve(config.DATA_DIR), { recursive: true });
  writeFileSync(devSecretsPath(config), `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
