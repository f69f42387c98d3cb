import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { hasRole, isRole, roles, type Actor, type Role } from '../domain/actor.js';
import { asymmetricJwsAlgorithms, isAccessTokenType, type OidcSettings } from '../domain/oidc.js';
import { looksLikeApiKey, type ApiKeys } from '../ledger/api-keys.js';

/** The issuer's keys could not be had (no answer, not 200, not a key set): the API cannot judge a token now. */
class KeysUnavailable extends Error {}

/** Who presented a credential the API accepted; `role` is missing when they hold none of ours. */
export type Caller = Omit<Actor, 'role'> & { role?: Role };

export type Authentication =
  | { ok: true; caller: Caller }
  /** 401: no credential, or one that proves nothing; 503: the OpenID provider's keys cannot be had. */
  | { ok: false; statusCode: 401 | 503; message: string };

/**
 * Who is calling the API (docs/operations.md, "Who may do what"): a bearer credential is an OIDC
 * JWT (verified against the issuer's published keys), a named API key (checked against the ledger),
 * or — for one release — the shared OPERATOR_TOKEN.
 */
export class Authenticator {
  private jwks: JWTVerifyGetKey | undefined;

  constructor(private readonly options: { apiKeys: ApiKeys; oidc?: OidcSettings | undefined; operatorToken?: string | undefined }) {}

  /** The schemes this API takes, for its 401 messages and /openapi.json. */
  describe(): string {
    return [
      'a named API key (npx refundflow operator add)',
      ...(this.options.oidc ? [`an OIDC access token from ${this.options.oidc.issuer}`] : []),
      ...(this.options.operatorToken ? ['the deprecated OPERATOR_TOKEN'] : []),
    ].join(', or ');
  }

  async authenticate(authorization: string | undefined): Promise<Authentication> {
    const credential = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (credential === undefined) {
      return { ok: false, statusCode: 401, message: `this endpoint needs "Authorization: Bearer <credential>": ${this.describe()}` };
    }
    if (this.options.operatorToken && sameSecret(credential, this.options.operatorToken)) {
      return { ok: true, caller: { id: 'operator-token', name: 'OPERATOR_TOKEN (deprecated)', role: 'approver', via: 'operator-token' } };
    }
    if (looksLikeApiKey(credential)) {
      const actor = await this.options.apiKeys.actorFor(credential);
      return actor ? { ok: true, caller: actor } : { ok: false, statusCode: 401, message: 'the API key is not a live key of this engine (unknown or revoked)' };
    }
    if (credential.split('.').length === 3 && this.options.oidc) return this.verifyJwt(credential, this.options.oidc);
    return { ok: false, statusCode: 401, message: `the bearer credential is not one this API takes: ${this.describe()}` };
  }

  private async verifyJwt(token: string, oidc: OidcSettings): Promise<Authentication> {
    let keys: JWTVerifyGetKey;
    try {
      keys = this.jwks ??= issuerKeys(new URL(oidc.jwksUrl ?? (await discoverJwksUrl(oidc.issuer))));
    } catch (err) {
      return { ok: false, statusCode: 503, message: `cannot verify OIDC tokens now: ${messageOf(err)}` };
    }
    let payload: JWTPayload;
    let typ: unknown;
    try {
      ({
        payload,
        protectedHeader: { typ },
      } = await jwtVerify(token, keys, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        clockTolerance: oidc.clockSkewSeconds,
        algorithms: [...(oidc.algorithms ?? asymmetricJwsAlgorithms)],
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof KeysUnavailable || err instanceof joseErrors.JWKSTimeout || (err instanceof Error && !(err instanceof joseErrors.JOSEError))) {
        return { ok: false, statusCode: 503, message: `cannot verify OIDC tokens now: the issuer's keys could not be fetched (${messageOf(err)})` };
      }
      return { ok: false, statusCode: 401, message: `the OIDC token was refused: ${jwtProblem(err, oidc)}` };
    }
    if (!isAccessTokenType(typ)) {
      return {
        ok: false,
        statusCode: 401,
        message: `the OIDC token was refused: its typ is ${typ === undefined ? 'missing' : JSON.stringify(typ)}, not an access token's (at+jwt or JWT)`,
      };
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') return { ok: false, statusCode: 401, message: 'the OIDC token names no subject (sub)' };
    const name = [payload.name, payload.preferred_username, payload.email, payload.sub].find((v): v is string => typeof v === 'string' && v !== '')!;
    const role = highestRole(claimAt(payload, oidc.rolesClaim));
    // The person is the subject: a key given to this person names the same subject (four eyes count people).
    return { ok: true, caller: { id: `oidc:${payload.sub}`, name, via: 'oidc', person: payload.sub, ...(role && { role }) } };
  }
}

/**
 * The issuer's published keys, fetched and cached by jose. A key set that cannot be had — no answer,
 * an answer other than 200, a body that is not a key set — is the issuer's trouble, not the
 * token's: it becomes KeysUnavailable (503), where jose would say a JOSEError like any bad token's.
 * A key set without the token's key still says the token is not the issuer's (401).
 */
function issuerKeys(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
      throw new KeysUnavailable(`${url.href}: ${messageOf(err)}`);
    }
  };
}

/** Why `caller` may not do what needs `needed` (403), or undefined. */
export function roleProblem(caller: Caller, needed: Role, what: string): string | undefined {
  if (caller.role === undefined) return `${caller.name} is signed in but holds none of the roles ${roles.join(', ')}; ${what} needs ${needed}`;
  return hasRole(caller.role, needed) ? undefined : `${caller.name} is ${caller.role}; ${what} needs the ${needed} role`;
}

async function discoverJwksUrl(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const document = (await response.json()) as { jwks_uri?: unknown };
  if (typeof document.jwks_uri !== 'string') throw new Error(`${url} names no jwks_uri`);
  return document.jwks_uri;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined), payload);
}

/** The highest of our roles among a claim's values (a string, a space-separated string, or a list). */
function highestRole(claim: unknown): Role | undefined {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/\s+/) : [];
  const held = values.filter(isRole);
  return [...roles].reverse().find((role) => held.includes(role));
}

function jwtProblem(err: unknown, oidc: OidcSettings): string {
  if (err instanceof joseErrors.JWTExpired) return 'it has expired';
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return `it is signed with an algorithm this API does not take (it takes ${(oidc.algorithms ?? asymmetricJwsAlgorithms).join(', ')})`;
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'exp' && err.reason === 'missing') return 'it has no expiry (exp)';
    if (err.claim === 'iss') return `it was not issued by ${oidc.issuer}`;
    if (err.claim === 'aud') return `it is not for this API (audience ${oidc.audience})`;
    if (err.claim === 'nbf' || err.claim === 'iat') return 'it is not valid yet';
    return `its ${err.claim} claim is not acceptable`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey)
    return "its signature is not from the issuer's keys";
  return messageOf(err);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
