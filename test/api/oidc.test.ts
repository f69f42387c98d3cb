import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { SignJWT, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OidcSettings } from '../../src/domain/oidc.js';
import { newSigningKey } from '../../src/domain/decision-proof.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { apiOn } from '../helpers/api.js';
import { freePorts } from '../helpers/ports.js';

/**
 * OIDC sign-in against a real OpenID provider (the `oidc-provider` package, run here): access tokens
 * are JWTs for the API's audience, with the person's roles in a `roles` claim. Each client
 * stands for a person or service (client credentials keep the test free of a browser).
 */
/** The API's audience: a resource indicator, so an absolute URI. */
const AUDIENCE = 'https://api.refundflow.test';

const people: Record<string, { name: string; roles?: string[]; ttl?: number }> = {
  alice: { name: 'Alice Chen', roles: ['approver'] },
  victor: { name: 'Victor Viewer', roles: ['viewer', 'something-else'] },
  nobody: { name: 'No Roles' },
  // Three seconds: taken at once, expired soon after. Its exp is in whole seconds, so one second
  // left it between 0 and 1 s to live, and a loaded machine's first call could come too late.
  brief: { name: 'Brief Token', roles: ['approver'], ttl: 3 },
};

async function openIdProvider(port: number, audience: string) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issuer = `http://127.0.0.1:${port}`;
  // The in-memory store is what a test wants; the provider warns production users about it.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => (String(args[0]).includes('in-memory adapter') ? undefined : warn(...args));
  const provider = new Provider(issuer, {
    cookies: { keys: ['oidc-test-cookie-key'] },
    clients: Object.keys(people).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    ttl: { ClientCredentials: (_ctx, _token, client) => people[client.clientId]?.ttl ?? 600 },
    extraTokenClaims: (_ctx, token) => {
      const person = people[(token as { clientId?: string }).clientId ?? ''];
      return person ? { name: person.name, ...(person.roles && { roles: person.roles }) } : {};
    },
  });
  console.warn = warn;
  const server = provider.listen(port);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    issuer,
    /** The issuer's own signing key: for tokens the provider would never issue, signed as it signs. */
    privateKey,
    async token(client: string): Promise<string> {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api' }),
      });
      const body = (await response.json()) as { access_token?: string; error_description?: string };
      if (!body.access_token) throw new Error(`no token for ${client}: ${response.status} ${body.error_description}`);
      return body.access_token;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let op: Awaited<ReturnType<typeof openIdProvider>>;
let other: Awaited<ReturnType<typeof openIdProvider>>;
let db: Database;
let connection: Connection;
let app: FastifyInstance;
let url: string;
let unreachable: { app: FastifyInstance; url: string };
let failingJwks: { app: FastifyInstance; url: string };
let jwksServer: Server;

async function apiWith(oidc: OidcSettings) {
  const api = apiOn(db, new Client({ connection }), { signingKey: newSigningKey(), oidc });
  await api.listen({ port: 0, host: '127.0.0.1' });
  return { app: api, url: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  const [port, otherPort, closedPort] = (await freePorts(3)) as [number, number, number];
  op = await openIdProvider(port, AUDIENCE);
  // Another provider, whose tokens name the same audience: its signature is not from our issuer.
  other = await openIdProvider(otherPort, AUDIENCE);
  db = await pgliteDatabase();
  await migrate(db);
  connection = Connection.lazy({ address: inject('temporalAddress') });
  ({ app, url } = await apiWith({ issuer: op.issuer, audience: AUDIENCE, rolesClaim: 'roles', clockSkewSeconds: 0 }));
  unreachable = await apiWith({ issuer: `http://127.0.0.1:${closedPort}`, audience: AUDIENCE, rolesClaim: 'roles', clockSkewSeconds: 0 });
  // A key set endpoint that is there but failing, as an issuer's is during an outage.
  jwksServer = createServer((_request, response) => response.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Internal Server Error</h1>'));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  failingJwks = await apiWith({ issuer: op.issuer, audience: AUDIENCE, rolesClaim: 'roles', clockSkewSeconds: 0, jwksUrl });
});

afterAll(async () => {
  await app?.close();
  await unreachable?.app.close();
  await failingJwks?.app.close();
  await new Promise((resolve) => (jwksServer ? jwksServer.close(resolve) : resolve(undefined)));
  await op?.close();
  await other?.close();
  await connection?.close();
  await db?.close();
});

const call = async (base: string, method: string, path: string, token: string) => {
  const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('OIDC sign-in', () => {
  it('takes a token from the issuer: the person is who the token says, with the highest role it holds', async () => {
    const alice = await op.token('alice');
    expect((await call(url, 'GET', '/v1/refunds', alice)).status).toBe(200);
    // Past the role check (approver), the refund is unknown: 404, and the audit trail names her.
    expect(await call(url, 'POST', '/v1/refunds/RF-OIDC-1/approve', alice)).toEqual({ status: 404, body: { error: 'no refund RF-OIDC-1' } });
    const trail = await call(url, 'GET', '/v1/audit?refundId=RF-OIDC-1', alice);
    expect(trail.body.entries).toEqual([
      expect.objectContaining({
        actor: { id: 'oidc:alice', name: 'Alice Chen', role: 'approver' },
        action: 'approve',
        outcome: 'refused',
        reason: 'no refund RF-OIDC-1',
      }),
    ]);
  });

  it('403 for a person without the role, or without any of ours; the refusal is audited', async () => {
    const victor = await op.token('victor');
    expect((await call(url, 'GET', '/v1/refunds', victor)).status).toBe(200);
    expect(await call(url, 'POST', '/v1/refunds/RF-OIDC-2/approve', victor)).toEqual({
      status: 403,
      body: { error: 'Victor Viewer is viewer; POST /v1/refunds/:refundId/approve needs the approver role' },
    });
    expect(await call(url, 'GET', '/v1/refunds', await op.token('nobody'))).toEqual({
      status: 403,
      body: { error: 'No Roles is signed in but holds none of the roles viewer, operator, approver, admin; GET /v1/refunds needs viewer' },
    });
    const trail = await call(url, 'GET', '/v1/audit?actor=oidc:victor', await op.token('alice'));
    expect(trail.body.entries).toEqual([
      expect.objectContaining({ action: 'approve', refundId: 'RF-OIDC-2', outcome: 'refused', detail: { httpStatus: 403 } }),
    ]);
  });

  it('401 for a token of another issuer, an expired one, one for another audience, and a tampered one', async () => {
    // The other issuer's token names the same audience and key id: its signature gives it away.
    expect(await call(url, 'GET', '/v1/refunds', await other.token('alice'))).toEqual({
      status: 401,
      body: { error: "the OIDC token was refused: its signature is not from the issuer's keys" },
    });
    const brief = await op.token('brief');
    expect((await call(url, 'GET', '/v1/refunds', brief)).status).toBe(200);
    await expect
      .poll(async () => (await call(url, 'GET', '/v1/refunds', brief)).body, { timeout: 10_000, interval: 500 })
      .toEqual({
        error: 'the OIDC token was refused: it has expired',
      });
    const { app: strict, url: strictUrl } = await apiWith({ issuer: op.issuer, audience: 'another-api', rolesClaim: 'roles', clockSkewSeconds: 0 });
    try {
      expect(await call(strictUrl, 'GET', '/v1/refunds', await op.token('alice'))).toEqual({
        status: 401,
        body: { error: 'the OIDC token was refused: it is not for this API (audience another-api)' },
      });
    } finally {
      await strict.close();
    }
    const [header, payload] = (await op.token('alice')).split('.');
    const tampered = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    expect(await call(url, 'GET', '/v1/refunds', tampered)).toEqual({
      status: 401,
      body: { error: "the OIDC token was refused: its signature is not from the issuer's keys" },
    });
  });

  it("503, not 401, when the issuer's key set answers 500: the API cannot judge the token, the token is not at fault", async () => {
    const answer = await call(failingJwks.url, 'GET', '/v1/refunds', await op.token('alice'));
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatch(/^cannot verify OIDC tokens now: the issuer's keys could not be fetched \(http:\/\/127\.0\.0\.1:\d+\/jwks: /);
  });

  it('503, not 401, when the issuer cannot be reached to fetch its keys', async () => {
    const answer = await call(unreachable.url, 'GET', '/v1/refunds', await op.token('alice'));
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatch(/^cannot verify OIDC tokens now: /);
  });
});

/** A token of alice's claims as the issuer would sign them, with `header` and `claims` changed. */
async function forged(header: { alg: string; typ?: string }, claims: JWTPayload, key: KeyObject = op.privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ iss: op.issuer, aud: AUDIENCE, sub: 'alice', name: 'Alice Chen', roles: ['approver'], iat: now, exp: now + 600, ...claims });
  return jwt.setProtectedHeader({ ...header, kid: 'test-key' }).sign(key);
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const refusedBecause = (why: string) => ({ status: 401, body: { error: `the OIDC token was refused: ${why}` } });
const algorithmRefused = refusedBecause(
  'it is signed with an algorithm this API does not take (it takes RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519)',
);

describe("OIDC tokens the API refuses, though the issuer's key or claims are on them", () => {
  it('alg none: no signature at all, on claims a real token carries', async () => {
    const [, payload] = (await op.token('alice')).split('.');
    expect(await call(url, 'GET', '/v1/refunds', `${encode({ alg: 'none', typ: 'at+jwt', kid: 'test-key' })}.${payload}.`)).toEqual(algorithmRefused);
  });

  it("HS256 keyed with the issuer's public key, which everyone can fetch", async () => {
    const publicPem = await (await fetch(`${op.issuer}/jwks`)).text();
    const header = encode({ alg: 'HS256', typ: 'at+jwt', kid: 'test-key' });
    const [, payload] = (await op.token('alice')).split('.');
    const signature = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    expect(await call(url, 'GET', '/v1/refunds', `${header}.${payload}.${signature}`)).toEqual(algorithmRefused);
  });

  it("a token without exp, signed with the issuer's key: one that never expires is never taken", async () => {
    const token = await forged({ alg: 'RS256', typ: 'at+jwt' }, { exp: undefined });
    expect(await call(url, 'GET', '/v1/refunds', token)).toEqual(refusedBecause('it has no expiry (exp)'));
  });

  it("a typ other than an access token's, or none; at+jwt and JWT are taken (RFC 9068, and what Keycloak and Entra ID send)", async () => {
    expect(await call(url, 'GET', '/v1/refunds', await forged({ alg: 'RS256', typ: 'logout+jwt' }, {}))).toEqual(
      refusedBecause('its typ is "logout+jwt", not an access token\'s (at+jwt or JWT)'),
    );
    expect(await call(url, 'GET', '/v1/refunds', await forged({ alg: 'RS256' }, {}))).toEqual(
      refusedBecause("its typ is missing, not an access token's (at+jwt or JWT)"),
    );
    for (const typ of ['at+jwt', 'application/at+jwt', 'JWT']) {
      expect((await call(url, 'GET', '/v1/refunds', await forged({ alg: 'RS256', typ }, {}))).status).toBe(200);
    }
  });

  it('OIDC_ALGORITHMS narrows the list: an RS256 token is refused by an API that takes ES256 only', async () => {
    const { app: narrow, url: narrowUrl } = await apiWith({
      issuer: op.issuer,
      audience: AUDIENCE,
      rolesClaim: 'roles',
      clockSkewSeconds: 0,
      algorithms: ['ES256'],
    });
    try {
      expect(await call(narrowUrl, 'GET', '/v1/refunds', await op.token('alice'))).toEqual(
        refusedBecause('it is signed with an algorithm this API does not take (it takes ES256)'),
      );
    } finally {
      await narrow.close();
    }
  });
});
