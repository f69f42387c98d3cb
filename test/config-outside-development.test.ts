import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { plainHttpGuarded } from '../src/config-outside-development.js';

/**
 * Outside development (every process but `npm start` on its own dev server), the configuration
 * refuses the secrets .env.example makes public, plain http:// where a URL carries money or trust
 * unless named in ALLOW_PLAIN_HTTP, and an OPERATOR_TOKEN a person could guess.
 */

/** .env.example's values, the commented optional ones too (`# NAME=value`). */
const example = Object.fromEntries(
  [...readFileSync('.env.example', 'utf8').matchAll(/^#? ?([A-Z][A-Z0-9_]*)=(.+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
);

const exampleSecrets = [
  'INGEST_WEBHOOK_SECRET',
  'OUTCOME_WEBHOOK_SECRET',
  'OPERATOR_SIGNING_KEY',
  'OPERATOR_VERIFY_KEYS',
  'PAYLOAD_ENCRYPTION_KEYS',
  'CODEC_SERVER_TOKEN',
];

/** The one line a refusal is, checked for not repeating `values`. */
function refusal(env: Record<string, string>, options?: { npmStart?: boolean }): string {
  try {
    loadConfig(env, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message).not.toContain('\n');
    for (const value of Object.values(env)) if (value.length >= 16) expect(err.message).not.toContain(value);
    return err.message;
  }
  throw new Error('the configuration was taken');
}

describe('the public example secrets of .env.example', () => {
  it.each(exampleSecrets)('%s as .env.example has it is refused, by name, never by value', (name) => {
    const value = example[name];
    expect(value, `.env.example shows ${name}`).toBeDefined();
    const env = { [name]: value as string, ...(name === 'OUTCOME_WEBHOOK_SECRET' && { OUTCOME_WEBHOOK_URL: 'https://om.example.test/hook' }) };
    expect(refusal(env)).toMatch(new RegExp(`^Invalid configuration: ${name} is the public example from \\.env\\.example, known to everyone: replace it \\(`));
  });

  it('the example payload key is refused under any key id, and beside a real key', () => {
    const key = (example.PAYLOAD_ENCRYPTION_KEYS as string).split(':')[1] as string;
    expect(refusal({ PAYLOAD_ENCRYPTION_KEYS: `new:${Buffer.alloc(32, 7).toString('base64')},old:${key}` })).toMatch(
      /PAYLOAD_ENCRYPTION_KEYS is the public example/,
    );
  });

  it('.env.example as shipped names every example secret in one line', () => {
    const message = refusal({ ...example, ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,MWD_BASE_URL,OUTCOME_WEBHOOK_URL' });
    for (const name of exampleSecrets) expect(message).toContain(`${name} is the public example`);
  });
});

describe('plain http:// URLs', () => {
  const withCredentials = { OEN_TOKEN: 't', OEN_MERCHANT_ID: 'm', MWD_TOKEN: 't', OUTCOME_WEBHOOK_SECRET: 'whsec_c2VjcmV0', OIDC_AUDIENCE: 'refundflow' };
  const url = (name: string) => (name === 'OIDC_ISSUER' || name === 'OIDC_JWKS_URL' ? 'http://login.internal/realms/pay' : 'http://127.0.0.1:8301');

  it.each(plainHttpGuarded)('%s over plain http is refused unless ALLOW_PLAIN_HTTP names it; loopback too', (name) => {
    const env = { ...withCredentials, [name]: url(name) };
    expect(refusal(env)).toBe(
      `Invalid configuration: ${name} must be an https:// URL (plain http:// is readable and changeable on the way); to allow it, name it in ALLOW_PLAIN_HTTP`,
    );
    expect(() => loadConfig({ ...env, ALLOW_PLAIN_HTTP: name })).not.toThrow();
    expect(refusal({ ...env, ALLOW_PLAIN_HTTP: plainHttpGuarded.filter((other) => other !== name).join(',') })).toMatch(
      new RegExp(`${name} must be an https:// URL`),
    );
    expect(() => loadConfig({ ...env, [name]: url(name).replace('http:', 'https:') })).not.toThrow();
  });

  it('ALLOW_PLAIN_HTTP takes only the guarded variables', () => {
    expect(refusal({ ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,DATABASE_URL' })).toMatch(
      /^Invalid configuration: ALLOW_PLAIN_HTTP\.1 must name variables among OEN_BASE_URL, MWD_BASE_URL, OUTCOME_WEBHOOK_URL, OIDC_ISSUER, OIDC_JWKS_URL/,
    );
  });
});

describe('OPERATOR_TOKEN', () => {
  it('shorter than 32 characters is refused, in development too; 32 are taken', () => {
    const short = 'x'.repeat(31);
    expect(() => loadConfig({ OPERATOR_TOKEN: short })).toThrow('OPERATOR_TOKEN must be at least 32 characters (openssl rand -hex 32 makes one)');
    expect(() => loadConfig({ OPERATOR_TOKEN: short }, { npmStart: true })).toThrow(/OPERATOR_TOKEN must be at least 32 characters/);
    expect(loadConfig({ OPERATOR_TOKEN: 'x'.repeat(32) }).OPERATOR_TOKEN).toHaveLength(32);
  });
});

describe('development: npm start on its own dev server', () => {
  const laptop = {
    INGEST_WEBHOOK_SECRET: example.INGEST_WEBHOOK_SECRET as string,
    OEN_BASE_URL: 'http://127.0.0.1:8301',
    OEN_TOKEN: 't',
    OEN_MERCHANT_ID: 'm',
  };

  it('takes the example secrets and plain http, as npm start always has', () => {
    expect(loadConfig(laptop, { npmStart: true })).toMatchObject({ OEN_BASE_URL: 'http://127.0.0.1:8301' });
  });

  it('npm start on a given Temporal (TEMPORAL_ADDRESS) is held to the rules', () => {
    expect(refusal({ ...laptop, TEMPORAL_ADDRESS: 'temporal.internal:7233' }, { npmStart: true })).toMatch(
      /INGEST_WEBHOOK_SECRET is the public example.*; OEN_BASE_URL must be an https:\/\/ URL/,
    );
  });
});

describe('a process started outside development with such a setting', () => {
  const start = (entry: string, env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, DATABASE_URL: '', ...env }, encoding: 'utf8', timeout: 30_000 });

  it('the worker stops at start with one line naming the plain-http provider URL', () => {
    const result = start('src/worker.ts', { OEN_BASE_URL: 'http://127.0.0.1:8301', OEN_TOKEN: 't', OEN_MERCHANT_ID: 'm', ALLOW_PLAIN_HTTP: '' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'Invalid configuration: OEN_BASE_URL must be an https:// URL (plain http:// is readable and changeable on the way); to allow it, name it in ALLOW_PLAIN_HTTP',
    );
  });

  it('the API stops at start with one line naming the example webhook secret and the short token, without their values', () => {
    const result = start('src/api/main.ts', { INGEST_WEBHOOK_SECRET: example.INGEST_WEBHOOK_SECRET as string, OPERATOR_TOKEN: 'guessable-token' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Invalid configuration: OPERATOR_TOKEN must be at least 32 characters (openssl rand -hex 32 makes one)');
    const example2 = start('src/api/main.ts', { INGEST_WEBHOOK_SECRET: example.INGEST_WEBHOOK_SECRET as string });
    expect(example2.status).toBe(1);
    expect(example2.stderr.trim()).toBe(
      'Invalid configuration: INGEST_WEBHOOK_SECRET is the public example from .env.example, known to everyone: replace it (echo "whsec_$(openssl rand -base64 32)")',
    );
    expect(example2.stderr).not.toContain(example.INGEST_WEBHOOK_SECRET);
  });
});
