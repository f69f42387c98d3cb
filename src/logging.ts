import type { Logger as SdkLogger, LogLevel, LogMetadata } from '@temporalio/common';
import { destination as pinoDestination, pino, type DestinationStream, type Level, type LevelWithSilent, type LogFn, type Logger } from 'pino';
import { lastFour, maskPans } from './domain/pan.js';

/**
 * Structured logs: one JSON object a line, `{"level":"info","time":"<ISO>",…,"msg":"…"}`, with
 * card numbers and secrets taken out before anything is written (money-safety rule 4: no card
 * numbers in logs).
 *
 * Two rules, applied to every line whatever path it took (message, printf arguments, logged
 * objects, child bindings, serializer output, Temporal SDK metadata):
 *
 * - **Secret-bearing keys** — any key whose name has a word token(s), secret(s), password(s),
 *   passwd, pwd, pass, passphrase, auth, jwt, credential(s), signature, authorization, cookie(s) or
 *   apikey, or the word key(s) unless it ends in id (`x-api-key`, `privateKeyPem`,
 *   `PAYLOAD_ENCRYPTION_KEYS`; not `keyId`, not `idempotencyKey`) — at any depth → `"[redacted]"`. That covers the request headers
 *   `authorization`, `webhook-signature`, `cookie` and `set-cookie`. Keys naming a card number
 *   (`pan`, `cardNumber`, `card_no`…) keep only the last four digits, even when the value is a number.
 * - **Free text** — in every string of the written line, Luhn-valid 13–19 digit runs (also with
 *   spaces or dashes) become `****` + the last four digits (`maskPans` of src/domain/pan.ts), and
 *   `Bearer <token>`, `whsec_…` secrets, `v1,<signature>`, the password of a `scheme://user:pw@`
 *   URL, and the value of a secret-named `name=value` (query strings, env dumps), `name: value`
 *   (`Authorization: Basic …`) or JSON member inside text (`{"cardToken":"…"}`) become `[redacted]`.
 *
 * Numbers are left alone (a millisecond timestamp can pass the Luhn check), except under a
 * card-number key.
 */

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** `config.LOG_LEVEL`: fatal, error, warn, info, debug, trace (or silent). */
  level: LevelWithSilent;
  /** Written as `"name"` on every line, e.g. `api` or `worker`. */
  name?: string;
  /**
   * Where the lines go. Unset: stdout, written synchronously, so lines keep their order with the
   * process's other output and none is lost when it exits. Anything with `write(line)`, e.g. a test's stream.
   */
  destination?: DestinationStream;
}

const secretWords = new Set([
  'token',
  'tokens',
  'secret',
  'secrets',
  'password',
  'passwords',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'auth',
  'jwt',
  'credential',
  'credentials',
  'signature',
  'authorization',
  'cookie',
  'cookies',
  'apikey',
]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** Whether a field, header or parameter of this name carries a secret (see the rules above). */
export function isSecretKey(name: string): boolean {
  const w = words(name);
  if (w.some((word) => secretWords.has(word))) return true;
  // Any key (apiKey, privateKeyPem, PAYLOAD_ENCRYPTION_KEYS), but not a key's id or an idempotency key.
  return w.some((word) => word === 'key' || word === 'keys') && w[w.length - 1] !== 'id' && !w.includes('idempotency');
}

/** Whether a field of this name holds a card number (`pan`, `cardNumber`, `card_no`, `cardNum`). */
function isCardNumberKey(name: string): boolean {
  const w = words(name);
  return w.includes('pan') || (w.includes('card') && w.some((word) => word === 'number' || word === 'no' || word === 'num'));
}

// No \b: these run on JSON-escaped text, where a line break before them reads "\nBearer".
const bearer = /(Bearer)\s+[^\s"'\\,;]+/gi;
const webhookSecret = /whsec_[A-Za-z0-9+/=]+/g;
/** A named API key (src/ledger/api-keys.ts): its key id stays, to tell which key it was. */
const apiKey = /(rf_[0-9a-f]{12}_)[A-Za-z0-9_-]+/g;
const webhookSignature = /v1,[A-Za-z0-9+/]{16,}={0,2}/g;
const urlPassword = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"\\]*:)[^\s@/"\\]+@/gi;
// What may come before a name: a separator, or an escaped line break or tab in JSON-escaped text.
// A value runs to a separator; a comma ends it only where another `name=` follows (`a=1,token=…`),
// so a comma-separated secret (`PAYLOAD_ENCRYPTION_KEYS=k1:…,k2:…`) is redacted whole.
const nameValue = /(^|[?&;,\s"'(]|\\[nrt])([A-Za-z_][\w.-]*)=((?:[^&\s#"',\\]|,(?![A-Za-z_][\w.-]*=))*)/g;
/** `Authorization: Basic …`, `PAYLOAD_ENCRYPTION_KEYS: k1:…`: a name, a colon, a word (after an auth scheme). */
const nameColonValue = /(^|[\s{,("']|\\[nrt])([A-Za-z_][\w.-]*)(\s*:\s*)((?:(?:Basic|Bearer|Digest|Negotiate)[ \t]+)?[^\s"',;\\]+)/g;
/** A JSON member inside text, escaped or not: `{"cardToken":"…"}`, `{\"token\":\"…\"}`. */
const jsonMember = /(\\?"([A-Za-z_][\w.-]*)\\?"\s*:\s*\\?")((?:[^"\\]|\\[^"])*)(\\?")/g;

/** `text` with card numbers masked and secrets in it redacted (the free-text rule). */
export function maskText(text: string): string {
  return maskPans(text)
    .replace(bearer, `$1 ${REDACTED}`)
    .replace(webhookSecret, `whsec_${REDACTED}`)
    .replace(apiKey, `$1${REDACTED}`)
    .replace(webhookSignature, `v1,${REDACTED}`)
    .replace(urlPassword, `$1${REDACTED}@`)
    .replace(jsonMember, (match, start: string, name: string, value: string, end: string) =>
      value !== '' && isSecretKey(name) ? `${start}${REDACTED}${end}` : match,
    )
    .replace(nameValue, (match, before: string, name: string, value: string) => (value !== '' && isSecretKey(name) ? `${before}${name}=${REDACTED}` : match))
    .replace(nameColonValue, (match, before: string, name: string, colon: string, value: string) =>
      value !== REDACTED && isSecretKey(name) ? `${before}${name}${colon}${REDACTED}` : match,
    );
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A request URL fit for a log: percent-decoded (so an encoded card number is still seen), card
 * numbers masked, and the values of secret-named query parameters (`?token=`, `?api_key=`) redacted.
 */
export function safeUrl(url: string): string {
  const at = url.indexOf('?');
  const path = maskText(decode(at < 0 ? url : url.slice(0, at)));
  if (at < 0) return path;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decode((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      if (eq < 0) return maskText(name);
      const value = decode(pair.slice(eq + 1).replace(/\+/g, ' '));
      return `${maskText(name)}=${isSecretKey(name) ? REDACTED : maskText(value)}`;
    });
  return `${path}?${query.join('&')}`;
}

const MAX_DEPTH = 8;

function maskCardValue(value: unknown): unknown {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') return scrub(value);
  const four = lastFour(String(value));
  return four === undefined ? REDACTED : `****${four}`;
}

function scrubField(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === undefined) return undefined;
  if (isSecretKey(key)) return REDACTED;
  if (isCardNumberKey(key)) return maskCardValue(value);
  return scrub(value, depth, seen);
}

function scrubError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err)) {
    if (!(key in out)) out[key] = scrubField(key, value, depth + 1, seen);
  }
  if (err.cause !== undefined) out.cause = scrub(err.cause, depth + 1, seen);
  if (err instanceof AggregateError) out.errors = scrub(err.errors, depth + 1, seen);
  return out;
}

/**
 * A copy of `value` safe to log as far as keys go: secret-named fields redacted, card-number fields
 * cut to the last four, errors turned into `{ type, message, stack, …their fields, cause }`, bytes
 * (bodies, payloads) replaced by their length, cycles and very deep nesting cut. Strings are masked
 * later, on the written line (see `createLogger`), so every string is, however it got there.
 */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return scrubError(value, depth, seen);
    if (Array.isArray(value)) return value.map((item: unknown) => scrub(item, depth + 1, seen));
    if (value instanceof Map) return scrub(Object.fromEntries(value), depth + 1, seen);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return scrub(toJSON.call(value) as unknown, depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = scrubField(key, field, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/** What a logged request shows: never its body. Works for Fastify requests and raw Node requests. */
function requestSerializer(req: unknown): unknown {
  if (req === null || typeof req !== 'object') return scrub(req);
  const r = req as { method?: unknown; url?: unknown; headers?: unknown; ip?: unknown; socket?: { remoteAddress?: unknown } };
  return {
    method: r.method,
    url: typeof r.url === 'string' ? safeUrl(r.url) : undefined,
    headers: scrub(r.headers),
    remoteAddress: r.ip ?? r.socket?.remoteAddress,
  };
}

function responseSerializer(res: unknown): unknown {
  if (res === null || typeof res !== 'object') return scrub(res);
  return { statusCode: (res as { statusCode?: unknown }).statusCode };
}

/**
 * Keys pino hands to a serializer after `formatters.log` has run: their serializers scrub instead.
 * (A child logger given its own serializer for another key must scrub in it.)
 */
const serialized = new Set(['req', 'res', 'err']);

/** A JSON string literal in a written line. */
const jsonString = /"[^"\\]*(?:\\.[^"\\]*)*"/g;

/** A pino logger writing JSON lines with card numbers and secrets taken out (see the top of this file). */
export function createLogger({ level, name, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      ...(name !== undefined && { name }),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
        log: (object) => {
          const out: Record<string, unknown> = {};
          const seen = new WeakSet<object>();
          for (const [key, value] of Object.entries(object)) out[key] = serialized.has(key) ? value : scrubField(key, value, 0, seen);
          return out;
        },
      },
      serializers: {
        req: requestSerializer,
        res: responseSerializer,
        err: (err: unknown) => scrub(err),
      },
      hooks: {
        // printf-style arguments (`log.info('x %o', obj)`) are formatted into the message: scrub
        // the objects among them too. The first argument, when an object, goes through formatters.log.
        logMethod(args: unknown[], method: LogFn) {
          const safe = args.map((arg, i) => (i === 0 || arg === null || typeof arg !== 'object' ? arg : scrub(arg)));
          method.apply(this, safe as Parameters<LogFn>);
        },
        // The last word: every string in the finished line gets the free-text rule, so nothing
        // (message, error stack, binding, serializer output) is written with a card number in it.
        streamWrite: (line) => line.replace(jsonString, maskText),
      },
    },
    destination ?? pinoDestination({ dest: 1, sync: true }),
  );
}

const pinoLevels: Record<LogLevel, Level> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** Fields pino writes itself; SDK metadata of these names is written as `sdk_<name>` instead. */
const reserved = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/**
 * The Temporal SDK's `Logger` on top of a pino logger from `createLogger`: SDK, worker, activity
 * (`Context.current().log`) and workflow (`log` of @temporalio/workflow) lines become JSON lines
 * of that logger — TRACE…ERROR as trace…error, the metadata (`sdkComponent`, `workflowId`,
 * `activityType`, …) as fields — redacted like every other line. Lines below the pino logger's
 * level are dropped. The SDK's `LogTimestamp` symbol is dropped: `time` is when the line is written.
 *
 * Wire it where the worker installs the Runtime (once per process, before any worker or native
 * connection is created):
 *
 * ```ts
 * const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
 * Runtime.install({ shutdownSignals: [], logger: runtimeLogger(logger) });
 * // optionally also Core's own (Rust) log lines:
 * //   telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } }
 * ```
 *
 * It has `flush()`, which the Runtime calls when it shuts down.
 */
export function runtimeLogger(logger: Logger): SdkLogger & { flush(): void } {
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const target = pinoLevels[level] ?? 'info';
    if (!logger.isLevelEnabled(target)) return;
    const fields: Record<string, unknown> = {};
    // Object.entries leaves out symbol keys (LogTimestamp).
    for (const [key, value] of Object.entries(meta ?? {})) fields[reserved.has(key) ? `sdk_${key}` : key] = value;
    logger[target](fields, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
    flush: () => logger.flush(),
  };
}
