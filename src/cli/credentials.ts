import { readFileSync } from 'node:fs';
import { webhookSecret as webhookSecretSchema } from '../config.js';
import { readDevSecrets } from '../dev-secrets.js';
import { usageError, type CliError } from './exit-codes.js';

/** The operator credential flags every command takes (global options). */
export interface CredentialFlags {
  token?: string;
  tokenFile?: string;
}

/** A credential, and where it came from (named in errors, never the value). */
export interface Credential {
  value: string;
  from: string;
}

type Env = Partial<Record<string, string>>;

interface Stdin extends AsyncIterable<string | Buffer> {
  isTTY?: boolean;
}

/**
 * The operator credential this CLI sends as `Authorization: Bearer <credential>`, from the first of:
 * `--token` (kept for compatibility; other users on the machine can read it in the process list),
 * `--token-file PATH` (`-`: stdin), `REFUNDFLOW_TOKEN`, `REFUNDFLOW_TOKEN_FILE`, `OPERATOR_TOKEN`
 * (the deprecated shared token), and the developer's API key `npm start` keeps in `.data/dev-secrets.json`. Undefined when none is given; a
 * source that is given but unusable (a file that cannot be read or holds more than one line, two
 * sources at one level) is a usage error, never skipped for the next one.
 */
export async function resolveCredential(flags: CredentialFlags, env: Env = process.env, stdin: Stdin = process.stdin): Promise<Credential | undefined> {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw usageError('give --token or --token-file, not both');
  if (flags.token !== undefined) return checked(flags.token, '--token');
  if (flags.tokenFile !== undefined) return fromFile(flags.tokenFile, '--token-file', stdin);
  const token = variable(env, 'REFUNDFLOW_TOKEN');
  const file = variable(env, 'REFUNDFLOW_TOKEN_FILE');
  if (token !== undefined && file !== undefined) throw usageError('REFUNDFLOW_TOKEN and REFUNDFLOW_TOKEN_FILE are both set: unset one');
  if (token !== undefined) return checked(token, 'REFUNDFLOW_TOKEN');
  if (file !== undefined) return fromFile(file, 'REFUNDFLOW_TOKEN_FILE', stdin);
  const legacy = variable(env, 'OPERATOR_TOKEN');
  if (legacy !== undefined) return checked(legacy, 'OPERATOR_TOKEN');
  const dev = readDevSecrets({ DATA_DIR: env.DATA_DIR ?? '.data' })?.developerKey;
  return dev === undefined ? undefined : { value: dev, from: "the developer's key in npm start's .data/dev-secrets.json" };
}

/** What stops a call that needs a credential when `resolveCredential` found none. */
export function noCredential(): CliError {
  return usageError(
    'no operator credential: set REFUNDFLOW_TOKEN, or REFUNDFLOW_TOKEN_FILE or --token-file to a file holding it (- reads stdin), or run this where `npm start` keeps .data/dev-secrets.json',
  );
}

/**
 * The Standard Webhooks secret events are signed with: `--secret`, `INGEST_WEBHOOK_SECRET`, or
 * npm start's; one that is not a secret's shape is a usage error naming where it came from (never its value).
 */
export function webhookSecret(given: string | undefined, env: Env = process.env): string {
  const [secret, from] =
    given !== undefined
      ? [given, '--secret']
      : variable(env, 'INGEST_WEBHOOK_SECRET') !== undefined
        ? [variable(env, 'INGEST_WEBHOOK_SECRET'), 'INGEST_WEBHOOK_SECRET']
        : [readDevSecrets({ DATA_DIR: env.DATA_DIR ?? '.data' })?.ingestWebhookSecret, "npm start's .data/dev-secrets.json"];
  if (!secret) {
    throw usageError('no webhook secret: pass --secret, set INGEST_WEBHOOK_SECRET, or run this where `npm start` keeps .data/dev-secrets.json');
  }
  const checked = webhookSecretSchema.safeParse(secret);
  if (!checked.success) throw usageError(`${from} ${checked.error.issues[0]?.message ?? 'is not a webhook secret'}`);
  return secret;
}

/** A variable's value; an empty one counts as unset, as in the configuration. */
function variable(env: Env, name: string): string | undefined {
  return env[name] || undefined;
}

async function fromFile(path: string, option: string, stdin: Stdin): Promise<Credential> {
  if (path === '-') {
    if (stdin.isTTY) throw usageError(`${option} - reads the credential from stdin, which is a terminal here: pipe it in (… | refundflow …)`);
    let text = '';
    for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    return checked(text, `${option} - (stdin)`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`${option}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return checked(text, `${option} ${path}`);
}

/** The credential alone: surrounding whitespace (a file's last newline) dropped; nothing else may be with it. */
function checked(raw: string, from: string): Credential {
  const value = raw.trim();
  if (value === '') throw usageError(`${from}: the credential is empty`);
  if (/\s/.test(value)) throw usageError(`${from}: must hold the credential alone, on one line`);
  return { value, from };
}
