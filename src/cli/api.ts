import type { Command } from 'commander';
import { httpUrl } from '../config.js';
import { networkCause } from './bulk.js';
import { noCredential, resolveCredential, type Credential, type CredentialFlags } from './credentials.js';
import { CliError } from './exit-codes.js';
import { badValue } from './flags.js';

/** How long the CLI waits for any one answer before it says the API did not answer. */
const ANSWER_WITHIN_MS = 30_000;

/** What every command knows from the global options. */
export interface CliContext {
  /** The API's base URL as given, without a trailing slash: read it through `apiUrl`, which checks it. */
  api: string;
  /** Where `api` came from, for a message about it: the flag, the variable, or the default. */
  apiFrom: string;
  json: boolean;
  credentialFlags: CredentialFlags;
}

/** The global options, as `context(program)` reads them once a command runs. */
export function context(program: Command): CliContext {
  const o = program.opts<{ api: string; json: boolean; token?: string; tokenFile?: string }>();
  return {
    api: o.api.replace(/\/+$/, ''),
    apiFrom: program.getOptionValueSource('api') === 'env' ? 'REFUNDFLOW_API_URL' : '--api',
    json: o.json,
    credentialFlags: { ...(o.token !== undefined && { token: o.token }), ...(o.tokenFile !== undefined && { tokenFile: o.tokenFile }) },
  };
}

/**
 * The API's base URL, for a command that calls it: one that is not an http(s) URL is a usage error
 * naming where it came from (a command that does not call the API never looks).
 */
export function apiUrl(ctx: CliContext): string {
  if (!httpUrl.safeParse(ctx.api).success) throw badValue(ctx.apiFrom, 'must be an http:// or https:// URL, e.g. http://localhost:8080', ctx.api);
  return ctx.api;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Whether a call carries the operator credential: `required` refuses to call without one, `optional`
 * sends it when one is given (reads: an API that authenticates them gets it, one that does not
 * ignores it), `none` never sends it (signed events).
 */
export type CredentialUse = 'required' | 'optional' | 'none';

// Resolved once per process: stdin can be read only once.
let credential: Promise<Credential | undefined> | undefined;

/** The credential for `use`, resolved on first need: every API call the CLI makes goes through here. */
export async function credentialFor(ctx: CliContext, use: CredentialUse): Promise<Credential | undefined> {
  if (use === 'none') return undefined;
  credential ??= resolveCredential(ctx.credentialFlags);
  const found = await credential;
  if (use === 'required' && !found) throw noCredential();
  return found;
}

/**
 * `method path` on the API, with the operator credential as `use` says. Answers 2xx and 3xx; any
 * other answer is a CliError with the API's reason (exit code 1), no answer one saying so (exit 3).
 */
export async function callApi(
  ctx: CliContext,
  method: string,
  path: string,
  { use, body, headers = {} }: { use: CredentialUse; body?: string; headers?: Record<string, string> },
): Promise<Answer> {
  const sent = await credentialFor(ctx, use);
  try {
    return await call(`${apiUrl(ctx)}${path}`, {
      method,
      headers: { ...headers, ...(sent && { authorization: `Bearer ${sent.value}` }) },
      ...(body !== undefined && { body }),
    });
  } catch (err) {
    // Which credential a refusal refused: the fix is usually in that variable or file.
    if (sent && err instanceof CliError && err.details.httpStatus === 401) err.details.credentialFrom = sent.from;
    throw err;
  }
}

/**
 * An HTTP call to `what` (the API unless named, with the flag that says where it is): its JSON
 * answer, or a CliError.
 */
export async function call(url: string, init: RequestInit = {}, { what, where } = { what: 'the API', where: '--api or REFUNDFLOW_API_URL' }): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
  } catch (err) {
    const cause = err instanceof DOMException && err.name === 'TimeoutError' ? `no answer within ${ANSWER_WITHIN_MS / 1000}s` : networkCause(err);
    throw new CliError(`cannot reach ${what} at ${new URL(url).origin} (${cause}): is \`npm start\` running? (${where})`, 'unreachable');
  }
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text };
  }
  if (response.status >= 400) {
    const problems = Array.isArray(body.problems) ? (body.problems as Array<{ field: string; problem: string }>) : undefined;
    throw new CliError(typeof body.error === 'string' ? body.error : text, 'refused', { httpStatus: response.status, ...(problems && { problems }) });
  }
  return { status: response.status, body };
}
