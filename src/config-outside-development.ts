/**
 * What the configuration refuses outside development (src/config.ts): the public example secrets
 * of .env.example, and URLs that would carry money or trust over plain http:// unless named in
 * ALLOW_PLAIN_HTTP. Development is `npm start` running its own Temporal dev server (TEMPORAL_ADDRESS
 * unset), the one set-up that is a laptop by construction; every other process — the worker, the
 * API, the codec server, compose, `npm start` on a given Temporal — is held to these rules.
 */

/**
 * The secrets .env.example ships, which everyone who can read this repository knows (test/config.test.ts
 * checks that each is refused as .env.example has it). Compared, never printed.
 */
const publicExamples = {
  INGEST_WEBHOOK_SECRET: ['whsec_cmVwbGFjZS1tZS1leGFtcGxlLWluZ2VzdC1zZWNyZXQ='],
  OUTCOME_WEBHOOK_SECRET: ['whsec_cmVwbGFjZS1tZS1leGFtcGxlLW91dGNvbWUtc2VjcmV0'],
  OPERATOR_SIGNING_KEY: ['4bb59384792fd8f23622fd5fde3e474defc46af7231190fbdb86a2b790833c5a'],
  OPERATOR_VERIFY_KEYS: ['33c574b523581cd49ade5f0122243893c9b51cfb62822eca1aafea6421ff4ec5'],
  // The key bytes, whatever id they are given.
  PAYLOAD_ENCRYPTION_KEYS: ['UkVQTEFDRS1NRS1SRVBMQUNFLU1FLVJFUExBQ0UtTUU='],
  CODEC_SERVER_TOKEN: ['replace-me-codec-server-token'],
} as const;

const howToReplace: Record<keyof typeof publicExamples, string> = {
  INGEST_WEBHOOK_SECRET: 'echo "whsec_$(openssl rand -base64 32)"',
  OUTCOME_WEBHOOK_SECRET: 'echo "whsec_$(openssl rand -base64 32)"',
  OPERATOR_SIGNING_KEY: 'npx refundflow signing-key',
  OPERATOR_VERIFY_KEYS: 'npx refundflow signing-key',
  PAYLOAD_ENCRYPTION_KEYS: 'npx refundflow new-key',
  CODEC_SERVER_TOKEN: 'openssl rand -hex 32',
};

/**
 * The URLs whose plain http:// is refused unless named: the providers' (bearer tokens, refunds), the
 * outcome webhook (refunds' ends, signed but readable and delayable), and the OpenID issuer's
 * (a key set read over plain HTTP can be swapped for one that signs anyone in).
 */
export const plainHttpGuarded = ['OEN_BASE_URL', 'MWD_BASE_URL', 'OUTCOME_WEBHOOK_URL', 'OIDC_ISSUER', 'OIDC_JWKS_URL'] as const;
export type PlainHttpGuarded = (typeof plainHttpGuarded)[number];

type Settings = Partial<Record<keyof typeof publicExamples, string | readonly string[]>> &
  Partial<Record<PlainHttpGuarded, string>> & { ALLOW_PLAIN_HTTP?: readonly PlainHttpGuarded[] | undefined };

/** Each problem as `[variable, what is wrong]`; none when the settings may run outside development. */
export function outsideDevelopmentProblems(settings: Settings): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  for (const [name, examples] of Object.entries(publicExamples) as Array<[keyof typeof publicExamples, readonly string[]]>) {
    const given = settings[name];
    if (given === undefined) continue;
    const values = (typeof given === 'string' ? given.split(',') : given).map((v) => v.trim());
    const keys = name === 'PAYLOAD_ENCRYPTION_KEYS' ? values.map((entry) => entry.slice(entry.indexOf(':') + 1)) : values;
    if (keys.some((value) => examples.some((example) => example.toLowerCase() === value.toLowerCase()))) {
      problems.push([name, `is the public example from .env.example, known to everyone: replace it (${howToReplace[name]})`]);
    }
  }
  const allowed = new Set(settings.ALLOW_PLAIN_HTTP ?? []);
  for (const name of plainHttpGuarded) {
    const url = settings[name];
    if (url !== undefined && new URL(url).protocol === 'http:' && !allowed.has(name)) {
      problems.push([name, `must be an https:// URL (plain http:// is readable and changeable on the way); to allow it, name it in ALLOW_PLAIN_HTTP`]);
    }
  }
  return problems;
}
