import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';

/**
 * The codec server the Web UI (and `temporal --codec-endpoint`) calls to show encrypted payloads
 * decoded: POST /decode and /encode with `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`.
 *
 * Only the UI's origin gets CORS answers, and every call needs the token: as `Authorization: Bearer`
 * (the CLI's `--codec-auth`, a UI behind single sign-on that passes its token), or as the session
 * cookie the sign-in page at `/` sets, which the UI sends when its codec setting "Include
 * cross-origin credentials" is on (the dev server's UI has no sign-in of its own to pass a token).
 */
export interface CodecServerOptions {
  codec: PayloadCodec;
  token: string;
  /** The one browser origin allowed to call, e.g. http://localhost:8233. */
  allowedOrigin: string;
  /** For tests: the clock sessions expire by. */
  now?: () => number;
}

export const SESSION_COOKIE = 'refundflow_codec';
const SESSION_MAX_AGE_SECONDS = 12 * 3600;

const jsonPayloads = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.base64()).nullish(),
      data: z.base64().nullish(),
    }),
  ),
});
type JsonPayloads = z.infer<typeof jsonPayloads>;

function fromJson({ payloads }: JsonPayloads): Payload[] {
  return payloads.map(({ metadata, data }) => ({
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data ?? '', 'base64'),
  }));
}

function toJson(payloads: Payload[]): JsonPayloads {
  const base64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
  return {
    payloads: payloads.map(({ metadata, data }) => ({
      metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, base64(v)])),
      data: base64(data),
    })),
  };
}

/**
 * The cookie carries when it expires and a MAC of that under the token, never the token: a copied
 * cookie stops working when it expires (not only when the browser drops it), and every session
 * ends when the token changes.
 */
function sessionValue(token: string, expiresAt: number): string {
  return `${expiresAt}.${createHmac('sha256', token).update(`refundflow codec session until ${expiresAt}`).digest('base64url')}`;
}

function validSession(value: string, token: string, now: number): boolean {
  const expiresAt = Number(value.split('.')[0]);
  return Number.isSafeInteger(expiresAt) && expiresAt > now && sameSecret(value, sessionValue(token, expiresAt));
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

export function createCodecServer({ codec, token, allowedOrigin, now = Date.now }: CodecServerOptions): FastifyInstance {
  // Histories can hold payloads of up to 2 MB each, several to a call.
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const authorized = (request: FastifyRequest): boolean => {
    const header = request.headers.authorization;
    if (header?.startsWith('Bearer ')) return sameSecret(header.slice('Bearer '.length), token);
    const fromCookie = cookie(request, SESSION_COOKIE);
    return fromCookie !== undefined && validSession(fromCookie, token, now());
  };

  // By route, not by URL: `/decode?x` is the same route.
  const converts = (request: FastifyRequest) => request.method === 'POST' && (request.routeOptions.url === '/decode' || request.routeOptions.url === '/encode');

  /** A browser call from anywhere but the UI gets no CORS answer, so its page cannot read ours. */
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    const route = request.routeOptions.url;
    if (origin === undefined || route === '/' || route === '/session' || route === '/healthz') return;
    if (origin !== allowedOrigin) {
      return reply.code(403).send({ error: `origin ${origin} is not allowed; this codec server answers ${allowedOrigin}` });
    }
    reply.header('Access-Control-Allow-Origin', allowedOrigin).header('Access-Control-Allow-Credentials', 'true').header('Vary', 'Origin');
  });

  /** Before the body is read: a caller without the token makes the server parse nothing. */
  app.addHook('onRequest', async (request, reply) => {
    if (converts(request) && !authorized(request)) {
      return reply.code(401).send({ error: "a bearer token (or the sign-in cookie from this server's page) is required" });
    }
  });

  app.options('/*', async (_request, reply) =>
    reply
      .code(204)
      .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
      .header('Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Namespace')
      .header('Access-Control-Max-Age', '600')
      .send(),
  );

  const convert = (direction: 'encode' | 'decode') => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = jsonPayloads.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: 'expected { payloads: [{ metadata: { key: base64 }, data: base64 }] }' });
    try {
      return toJson(await codec[direction](fromJson(body.data)));
    } catch (err) {
      return reply.code(422).send({ error: err instanceof Error ? err.message : String(err) });
    }
  };
  app.post('/decode', convert('decode'));
  app.post('/encode', convert('encode'));

  app.get('/healthz', () => ({ status: 'ok' }));

  /** This server as the browser reaches it: the address the UI's codec setting needs. */
  const ownUrl = (request: FastifyRequest) => escapeHtml(`${request.protocol}://${request.host}`);

  app.get('/', async (request, reply) => reply.type('text/html; charset=utf-8').send(signInPage(authorized(request), allowedOrigin, ownUrl(request))));

  app.post('/session', async (request, reply) => {
    const given = (request.body as { token?: unknown } | undefined)?.token;
    if (typeof given !== 'string' || !sameSecret(given, token)) {
      return reply
        .code(401)
        .type('text/html; charset=utf-8')
        .send(signInPage(false, allowedOrigin, ownUrl(request), 'That is not the codec server token.'));
    }
    const session = sessionValue(token, now() + SESSION_MAX_AGE_SECONDS * 1000);
    const secure = request.protocol === 'https' ? '; Secure' : '';
    return reply
      .header('Set-Cookie', `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MAX_AGE_SECONDS}${secure}`)
      .redirect('/', 303);
  });

  return app;
}

function signInPage(signedIn: boolean, uiOrigin: string, ownUrl: string, problem?: string): string {
  const body = signedIn
    ? `<p id="status">Signed in: this browser's Web UI can decode payloads for the next 12 hours.</p>
<p>The <a href="${escapeHtml(uiOrigin)}">Web UI</a> of a Temporal UI server set up for it (compose, <code>npm run cluster</code>) needs nothing more.
With <code>npm start</code>'s dev server, once per browser: open the UI's Codec Server settings (the glasses icon,
top right), choose <b>Use my browser setting and ignore Cluster-level setting</b>, paste <code>${ownUrl}</code>,
turn on <b>Include cross-origin credentials</b>, and Apply. (That UI sends this browser's cookie only when the
endpoint is its own browser setting.)</p>`
    : `<form method="post" action="/session">
<label>Codec server token <input type="password" name="token" autocomplete="off" autofocus></label>
<button type="submit">Sign in</button>
</form>${problem ? `<p id="problem">${problem}</p>` : ''}`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>refundflow codec server</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto"><h1>refundflow codec server</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
