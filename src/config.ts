import { z } from 'zod';
import { BUILD_ID } from './domain/schemas/deployments.js';
import { outsideDevelopmentProblems, plainHttpGuarded } from './config-outside-development.js';
import { asymmetricJwsAlgorithms } from './domain/oidc.js';

/**
 * The environment variables of the public contract (docs/configuration.md), plus the
 * ports and data directory of the embedded development set-up. Every process validates its
 * environment here once, at start, so a bad value stops it before it touches anything.
 */

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole port number')
  .min(1, 'must be a port between 1 and 65535')
  .max(65535, 'must be a port between 1 and 65535');

/** host:port of a Temporal frontend (TEMPORAL_ADDRESS; the CLI's schedule install --address). */
export const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, 'must be host:port, e.g. temporal.internal:7233');

/** An http:// or https:// URL (the providers', the outcome receiver's; the CLI's --api). */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** A PostgreSQL URL (DATABASE_URL; the CLI's --database-url and --migration-url). */
export const postgresUrl = z.url({
  protocol: /^postgres(ql)?$/,
  error: 'must be a PostgreSQL URL, e.g. postgres://user@host:5432/refunds',
});

/** Any text but the empty one (names: a namespace, a task queue). */
export const nonEmpty = z.string().min(1, 'must not be empty');

/** `keyId:base64` entries, comma-separated; each key is 32 bytes (AES-256-GCM). */
const payloadKeys = z.string().superRefine((value, ctx) => {
  const ids = new Set<string>();
  for (const entry of value.split(',').map((e) => e.trim())) {
    const match = /^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9+/]+={0,2})$/.exec(entry);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'must be comma-separated keyId:base64Key entries (see .env.example)' });
      return;
    }
    const [, id, key] = match as unknown as [string, string, string];
    if (Buffer.from(key, 'base64').length !== 32) {
      ctx.addIssue({ code: 'custom', message: `key "${id}" must be 32 bytes (44 base64 characters)` });
    }
    if (ids.has(id)) ctx.addIssue({ code: 'custom', message: `key id "${id}" appears twice` });
    ids.add(id);
  }
});

/** An AMQP 0-9-1 URL (AMQP_URL): amqp://, or amqps:// for TLS; the user and password in it, the vhost its path. */
export const amqpUrl = z.url({ protocol: /^amqps?$/, error: 'must be an amqp:// or amqps:// URL, e.g. amqps://refundflow:secret@rabbitmq.internal:5671' });

/** NATS servers (NATS_URL): one URL or several, comma-separated; nats://, or tls:// to require TLS; a user and password, or a token, in it. */
const natsUrls = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url !== ''),
  )
  .pipe(
    z
      .array(z.url({ protocol: /^(nats|tls)$/, error: 'must be nats:// or tls:// URLs, comma-separated, e.g. tls://refundflow:secret@nats.internal:4222' }))
      .min(1, 'must name at least one server'),
  );

/** A RabbitMQ queue or exchange name (at most 255 bytes; amq. is the broker's own). */
const amqpName = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .refine((name) => !name.startsWith('amq.'), 'must not start with amq. (the broker keeps those names)');

/** A NATS subject to publish to: dot-separated tokens, no wildcard, no space. */
const natsSubject = z.string().regex(/^[^.*>\s]+(\.[^.*>\s]+)*$/, 'must be a NATS subject without wildcards, e.g. refundflow.events');

/** A JetStream stream or consumer name: no dot, space, wildcard or path separator. */
const jetStreamName = z.string().regex(/^[^.*>\s/\\]{1,255}$/, 'must be a JetStream name: no ".", "*", ">", "/", "\\" or white space');

const listenAddress = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port to listen on, e.g. 0.0.0.0:9464');

/** The worker's tuning defaults, measured with `npm run bench` (docs/performance.md). */
export const WORKER_DEFAULTS = { maxCachedWorkflows: 1000, maxConcurrentWorkflowTasks: 40, maxConcurrentActivities: 100 } as const;

/** Requests per second (a positive number), or `off`. */
const rateLimit = z
  .string()
  .default('20')
  .transform((value, ctx) => {
    if (value === 'off') return 'off' as const;
    const perSecond = Number(value);
    if (value.trim() === '' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > 10_000) {
      ctx.addIssue({ code: 'custom', message: 'must be requests per second (a positive number up to 10000), or off' });
      return z.NEVER;
    }
    return perSecond;
  });

const hexKey = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (an Ed25519 key; npx refundflow signing-key makes a pair)');

const booleanFlag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

/** How often reconciliation runs (RECONCILE_INTERVAL_SECONDS; the CLI's schedule install --every). */
export const reconcileIntervalSeconds = z.coerce.number({ error: 'must be whole seconds' }).int('must be whole seconds').min(60, 'must be at least 60');

/** A Standard Webhooks secret (the API's INGEST_WEBHOOK_SECRET; the CLI's --secret). */
export const webhookSecret = z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be a Standard Webhooks secret: "whsec_" followed by base64');

const rawSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: nonEmpty.default('default'),
  REFUNDS_TASK_QUEUE: nonEmpty.default('refunds'),
  DATABASE_URL: postgresUrl.optional(),
  OEN_BASE_URL: httpUrl.optional(),
  OEN_TOKEN: nonEmpty.optional(),
  OEN_MERCHANT_ID: nonEmpty.optional(),
  MWD_BASE_URL: httpUrl.optional(),
  MWD_TOKEN: nonEmpty.optional(),
  PORT: port.default(8080),
  /**
   * Refund runs an API process keeps working at once: past it, an accepted event waits in the
   * inbox and the dispatcher starts it when one ends or waits for a person (src/api/admission.ts);
   * 0 starts every accepted event at once.
   */
  RUNNING_REFUNDS_LIMIT: z.coerce.number().int('must be a whole number').min(0, 'must be 0 or more').default(50),
  INGEST_WEBHOOK_SECRET: webhookSecret.optional(),
  /** Deprecated (one release): a shared bearer token that acts as an approver named OPERATOR_TOKEN. */
  OPERATOR_TOKEN: z.string().min(32, 'must be at least 32 characters (openssl rand -hex 32 makes one)').optional(),
  /**
   * The URL variables allowed to be plain http:// outside development, by name (comma-separated):
   * the sandbox emulators, a receiver on the same host or behind a TLS-terminating sidecar.
   */
  ALLOW_PLAIN_HTTP: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    )
    .pipe(z.array(z.enum(plainHttpGuarded, { error: `must name variables among ${plainHttpGuarded.join(', ')}, comma-separated` })))
    .optional(),
  /**
   * The API's Ed25519 key (64 hex digits) that signs each operator decision it sends to a run; the
   * workers check the signature with its public half (OPERATOR_VERIFY_KEYS, or derived from this key
   * when they have it). `npx refundflow signing-key` makes a pair.
   */
  OPERATOR_SIGNING_KEY: hexKey.optional(),
  /** Public keys (64 hex digits each, comma-separated: rotation) a worker accepts decisions signed by. */
  OPERATOR_VERIFY_KEYS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((key) => key.trim())
        .filter((key) => key !== ''),
    )
    .pipe(z.array(hexKey).min(1, 'must name at least one key'))
    .optional(),
  /**
   * Whether runs take decisions without the API's proof (an update sent from the Web UI or the
   * `temporal` CLI), recorded as unverified. Only for the embedded development mode.
   */
  ALLOW_UNSIGNED_DECISIONS: booleanFlag.default(false),
  /** OIDC sign-in: bearer JWTs from this issuer, for this audience, with roles in OIDC_ROLES_CLAIM. */
  OIDC_ISSUER: httpUrl.optional(),
  OIDC_AUDIENCE: nonEmpty.optional(),
  OIDC_ROLES_CLAIM: z
    .string()
    .regex(/^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/, 'must be a claim name or a dotted path')
    .default('roles'),
  OIDC_JWKS_URL: httpUrl.optional(),
  /** The signature algorithms taken on OIDC tokens, to narrow them to the issuer's; never none or HS*. */
  OIDC_ALGORITHMS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((alg) => alg.trim())
        .filter((alg) => alg !== ''),
    )
    .pipe(
      z
        .array(
          z.enum(asymmetricJwsAlgorithms, {
            error: `must be asymmetric signature algorithms, comma-separated (${asymmetricJwsAlgorithms.join(', ')}); none and HS* are never taken`,
          }),
        )
        .min(1, 'must name at least one algorithm'),
    )
    .optional(),
  OIDC_CLOCK_SKEW_SECONDS: z.coerce.number().int('must be whole seconds').min(0, 'must be 0 or more').max(600, 'must be at most 600').default(60),
  /**
   * The RabbitMQ intake (docs/api.md, "Events over RabbitMQ and NATS"): on when AMQP_URL is set. It
   * consumes AMQP_QUEUE and publishes what it refuses to AMQP_DEAD_LETTER_EXCHANGE, making both (and
   * a queue of the exchange's name bound to it) when they are absent.
   */
  AMQP_URL: amqpUrl.optional(),
  AMQP_QUEUE: amqpName.default('refundflow.events'),
  AMQP_DEAD_LETTER_EXCHANGE: amqpName.default('refundflow.events.dead'),
  /**
   * The NATS JetStream intake: on when NATS_URL is set. A durable pull consumer NATS_CONSUMER of
   * stream NATS_STREAM (capturing NATS_SUBJECT); what it refuses goes to NATS_DEAD_LETTER_SUBJECT, kept
   * in a stream of its own. Each is made when absent.
   */
  NATS_URL: natsUrls.optional(),
  NATS_STREAM: jetStreamName.default('REFUNDFLOW_EVENTS'),
  NATS_SUBJECT: natsSubject.default('refundflow.events'),
  NATS_CONSUMER: jetStreamName.default('refundflow-intake'),
  NATS_DEAD_LETTER_SUBJECT: natsSubject.default('refundflow.events.dead'),
  OUTCOME_WEBHOOK_URL: httpUrl.optional(),
  OUTCOME_WEBHOOK_SECRET: webhookSecret.optional(),
  /**
   * The outcome relay's broker destinations (docs/api.md, "Outcome events"): a RabbitMQ topic
   * exchange on AMQP_URL (with a queue of its name bound to it, made when absent), and a NATS subject
   * on NATS_URL, kept in the JetStream stream OUTCOME_NATS_STREAM (made when absent). Each message is
   * signed with OUTCOME_WEBHOOK_SECRET when it is set.
   */
  OUTCOME_AMQP_EXCHANGE: amqpName.optional(),
  OUTCOME_NATS_SUBJECT: natsSubject.optional(),
  OUTCOME_NATS_STREAM: jetStreamName.default('REFUNDFLOW_OUTCOMES'),
  /** The Temporal Web UI's base URL, for the links the API gives (`uiUrl`). */
  TEMPORAL_UI_URL: httpUrl.optional(),
  /** Refunds of at least this many NT$ wait for an operator's approve or reject. */
  APPROVAL_THRESHOLD: z.coerce.number().int('must be a whole number of NT$').positive('must be a positive number of NT$').optional(),
  /** Refunds of at least this many NT$ need two different approvers (at least APPROVAL_THRESHOLD). */
  DUAL_APPROVAL_THRESHOLD: z.coerce.number().int('must be a whole number of NT$').positive('must be a positive number of NT$').optional(),
  /** How long a refund waits for approval before it ends cancelled. */
  APPROVAL_TIMEOUT_SECONDS: z.coerce
    .number()
    .int('must be whole seconds')
    .positive('must be positive')
    .default(72 * 3600),
  /** How long a provider call is retried before the refund goes to requires_attention. */
  PROVIDER_RETRY_WINDOW_SECONDS: z.coerce.number().int('must be whole seconds').min(5, 'must be at least 5').default(600),
  /**
   * Requests per second each provider may be sent, across every worker sharing the ledger (the
   * limit is kept in the ledger database); `off` sends without a limit.
   */
  OEN_RATE_LIMIT: rateLimit,
  MWD_RATE_LIMIT: rateLimit,
  /**
   * Worker tuning (docs/performance.md): workflow runs kept in memory between their tasks (fewer:
   * less memory, more replaying), workflow tasks and activities run at once.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int('must be a whole number').min(0, 'must be 0 or more').default(WORKER_DEFAULTS.maxCachedWorkflows),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce
    .number()
    .int('must be a whole number')
    .min(2, 'must be at least 2')
    .default(WORKER_DEFAULTS.maxConcurrentWorkflowTasks),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .default(WORKER_DEFAULTS.maxConcurrentActivities),
  /**
   * Worker Versioning (docs/engine.md, "Releases"): `on` — the worker polls as one version of the
   * Worker Deployment WORKER_DEPLOYMENT_NAME, its build id WORKER_BUILD_ID or the package version and
   * the commit (src/release.ts), and refund runs finish on the build they started on; `off` — an
   * unversioned worker. Unset: `on`, except for `npm start` on its own dev server.
   */
  WORKER_VERSIONING: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
  WORKER_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'may have only letters, digits, _ and - (at most 100)')
    .default('refundflow'),
  WORKER_BUILD_ID: z.string().regex(BUILD_ID, 'may have only letters, digits and . _ + - (at most 255)').optional(),
  /**
   * Reconciliation (docs/reconciliation.md): how often the schedule runs it; after how long a refund
   * still `submitting` is looked at (if its run is no longer open); how
   * many days back succeeded refunds are confirmed; whether a refund Oen shows still charged is sent
   * again (`true`) or left for a person (`false`).
   */
  RECONCILE_INTERVAL_SECONDS: reconcileIntervalSeconds.default(900),
  RECONCILE_SUBMITTING_AFTER_SECONDS: z.coerce.number().int('must be whole seconds').positive('must be positive').default(3600),
  RECONCILE_SUCCEEDED_DAYS: z.coerce.number().int('must be whole days').min(0, 'must be 0 or more').default(7),
  RECONCILE_RESUBMIT: booleanFlag.default(false),
  /**
   * Payload encryption keys: the first encrypts, every one decrypts (rotation). Unset → payloads are
   * stored in plain JSON.
   */
  PAYLOAD_ENCRYPTION_KEYS: payloadKeys.optional(),
  /** Bearer token the codec server requires (the Web UI's sign-in cookie carries the same token). */
  CODEC_SERVER_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  CODEC_SERVER_PORT: port.default(8234),
  /** The one browser origin the codec server answers (the Web UI's); defaults to TEMPORAL_UI_URL's. */
  CODEC_ALLOWED_ORIGIN: httpUrl.optional(),
  /** Where the worker serves Prometheus metrics (`/metrics`); `off` serves none. */
  METRICS_ADDRESS: z.union([z.literal('off'), listenAddress]).default('127.0.0.1:9464'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { error: 'must be one of fatal, error, warn, info, debug, trace' }).default('info'),
  /** Where `npm run sandbox` listens: loopback by default; 0.0.0.0 in a container (docker-compose.yml). */
  SANDBOX_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or IP address')
    .default('127.0.0.1'),
  SANDBOX_OEN_PORT: port.default(8301),
  SANDBOX_MWD_PORT: port.default(8302),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  DATA_DIR: nonEmpty.default('.data'),
});

/** Variables that must be given together: naming a real endpoint means naming its credentials. */
const requiredWith: ReadonlyArray<[given: keyof RawConfig, needs: keyof RawConfig]> = [
  ['OEN_BASE_URL', 'OEN_TOKEN'],
  ['OEN_BASE_URL', 'OEN_MERCHANT_ID'],
  ['MWD_BASE_URL', 'MWD_TOKEN'],
  ['OUTCOME_WEBHOOK_URL', 'OUTCOME_WEBHOOK_SECRET'],
  ['OUTCOME_AMQP_EXCHANGE', 'AMQP_URL'],
  ['OUTCOME_NATS_SUBJECT', 'NATS_URL'],
  ['OIDC_ISSUER', 'OIDC_AUDIENCE'],
  ['DUAL_APPROVAL_THRESHOLD', 'APPROVAL_THRESHOLD'],
];

type RawConfig = z.infer<typeof rawSchema>;

const configSchema = rawSchema.superRefine((raw, ctx) => {
  for (const [given, needs] of requiredWith) {
    if (raw[given] !== undefined && raw[needs] === undefined) {
      ctx.addIssue({ code: 'custom', path: [needs], message: `is required when ${given} is set` });
    }
  }
  if (raw.DUAL_APPROVAL_THRESHOLD !== undefined && raw.APPROVAL_THRESHOLD !== undefined && raw.DUAL_APPROVAL_THRESHOLD < raw.APPROVAL_THRESHOLD) {
    ctx.addIssue({
      code: 'custom',
      path: ['DUAL_APPROVAL_THRESHOLD'],
      message: 'must be at least APPROVAL_THRESHOLD (a refund needing two approvers must wait for approval)',
    });
  }
  if (raw.NATS_DEAD_LETTER_SUBJECT === raw.NATS_SUBJECT) {
    ctx.addIssue({ code: 'custom', path: ['NATS_DEAD_LETTER_SUBJECT'], message: 'must differ from NATS_SUBJECT (refused events would be consumed again)' });
  }
  if (raw.OUTCOME_NATS_SUBJECT !== undefined && [raw.NATS_SUBJECT, raw.NATS_DEAD_LETTER_SUBJECT].includes(raw.OUTCOME_NATS_SUBJECT)) {
    ctx.addIssue({
      code: 'custom',
      path: ['OUTCOME_NATS_SUBJECT'],
      message: 'must differ from NATS_SUBJECT and NATS_DEAD_LETTER_SUBJECT (outcomes are not events to take)',
    });
  }
  if (raw.OUTCOME_NATS_SUBJECT !== undefined && raw.OUTCOME_NATS_STREAM === raw.NATS_STREAM) {
    ctx.addIssue({ code: 'custom', path: ['OUTCOME_NATS_STREAM'], message: "must differ from NATS_STREAM (the intake's stream)" });
  }
  if (raw.OUTCOME_AMQP_EXCHANGE !== undefined && [raw.AMQP_QUEUE, raw.AMQP_DEAD_LETTER_EXCHANGE].includes(raw.OUTCOME_AMQP_EXCHANGE)) {
    ctx.addIssue({
      code: 'custom',
      path: ['OUTCOME_AMQP_EXCHANGE'],
      message: 'must differ from AMQP_QUEUE and AMQP_DEAD_LETTER_EXCHANGE (outcomes are not events to take)',
    });
  }
  if (raw.AMQP_DEAD_LETTER_EXCHANGE === raw.AMQP_QUEUE) {
    ctx.addIssue({ code: 'custom', path: ['AMQP_DEAD_LETTER_EXCHANGE'], message: "must differ from AMQP_QUEUE (the exchange's own queue takes its name)" });
  }
  // A refund's run retries its provider call for the retry window: reconciliation must not take a
  // refund that may still be in its own run's hands.
  if (raw.RECONCILE_SUBMITTING_AFTER_SECONDS <= raw.PROVIDER_RETRY_WINDOW_SECONDS + 60) {
    ctx.addIssue({
      code: 'custom',
      path: ['RECONCILE_SUBMITTING_AFTER_SECONDS'],
      message: "must be more than PROVIDER_RETRY_WINDOW_SECONDS + 60 (a refund still in its run's retries is not reconciliation's)",
    });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Who is loading the configuration: `npm start` (scripts/start.ts), which is development when it
 * runs its own Temporal dev server (TEMPORAL_ADDRESS unset); every other process is not.
 */
export interface LoadOptions {
  npmStart?: boolean;
}

/**
 * Parses the environment. Empty strings count as unset, as a shell `FOO=` usually means "no value".
 * The error message is one line that names the variable and what is wrong, never its value, since
 * several of these variables are secrets. Outside development the public example secrets and
 * unnamed plain http:// URLs are refused too (src/config-outside-development.ts).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, { npmStart = false }: LoadOptions = {}): Config {
  const present = Object.fromEntries(
    Object.keys(rawSchema.shape)
      .map((name) => [name, env[name]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const development = npmStart && parsed.data.TEMPORAL_ADDRESS === undefined;
  const problems = development ? [] : outsideDevelopmentProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.map(([name, problem]) => `${name} ${problem}`).join('; ')}`);
  return parsed.data;
}

/** For process entry points: a bad environment ends the process with one line on stderr. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  return exitOnConfigError(() => loadConfig(env, options));
}

/** What `load` returns; its ConfigError ends the process with the error's one line on stderr, exit code 1. */
export function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

/** Where links to the Web UI point: TEMPORAL_UI_URL, else the embedded dev server's UI. */
export function uiBaseUrl(config: Config): string {
  return config.TEMPORAL_UI_URL ?? `http://localhost:${config.TEMPORAL_UI_PORT}`;
}

/** The browser origin the codec server answers: CODEC_ALLOWED_ORIGIN, else the Web UI's. */
export function codecAllowedOrigin(config: Config): string {
  return new URL(config.CODEC_ALLOWED_ORIGIN ?? uiBaseUrl(config)).origin;
}
