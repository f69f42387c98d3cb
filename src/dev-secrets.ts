import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Config } from './config.js';
import { newSigningKey } from './domain/decision-proof.js';

/**
 * The embedded development mode's secrets: when INGEST_WEBHOOK_SECRET, OPERATOR_SIGNING_KEY or (with
 * payload encryption on) CODEC_SERVER_TOKEN is unset, `npm start` generates them once and keeps them
 * in DATA_DIR/dev-secrets.json (mode 600), so they survive a restart and the CLI on this machine can
 * read them; with them the developer's API key (an approver, made in the ledger by `npm start`).
 * Never used where they are set.
 */
const devSecrets = z.object({
  ingestWebhookSecret: z.string().startsWith('whsec_'),
  codecServerToken: z.string().min(16),
  operatorSigningKey: z.string().regex(/^[0-9a-f]{64}$/),
  /** The developer's API key, once `npm start` has made it in the ledger. */
  developerKey: z.string().startsWith('rf_').optional(),
  /** Kept from earlier versions, which made a shared OPERATOR_TOKEN; no longer made or used. */
  operatorToken: z.string().optional(),
});
/** A file from an earlier version lacks the later secrets: it gets them on its next use. */
const storedSecrets = devSecrets.partial({ codecServerToken: true, operatorSigningKey: true });
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
  if (existing?.codecServerToken && existing.operatorSigningKey) {
    return { ...existing, codecServerToken: existing.codecServerToken, operatorSigningKey: existing.operatorSigningKey };
  }
  return writeDevSecrets(config, {
    ingestWebhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    codecServerToken: randomBytes(24).toString('base64url'),
    operatorSigningKey: newSigningKey(),
    ...existing,
  });
}

/** Keeps the developer's API key with the other development secrets. */
export function saveDeveloperKey(config: Pick<Config, 'DATA_DIR'>, developerKey: string): DevSecrets {
  return writeDevSecrets(config, { ...ensureDevSecrets(config), developerKey });
}

function writeDevSecrets(config: Pick<Config, 'DATA_DIR'>, secrets: DevSecrets): DevSecrets {
  mkdirSync(resolve(config.DATA_DIR), { recursive: true });
  writeFileSync(devSecretsPath(config), `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
