/**
 * What the API takes as an OIDC access token (src/api/auth.ts, docs/api.md "Authentication and
 * roles"). One home for the lists the configuration checks OIDC_ALGORITHMS against and the API
 * verifies with.
 */

/**
 * Signature algorithms with a public key: the only ones a token from an issuer's published keys can
 * be verified with. `none` proves nothing, and an HS* token "verified" with a public key is signed
 * with a key everyone has; neither is ever taken, whatever OIDC_ALGORITHMS says.
 */
export const asymmetricJwsAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/**
 * The `typ` header of an access token: `at+jwt` (RFC 9068, also as the media type
 * `application/at+jwt`), or `JWT`, which Keycloak and Microsoft Entra ID put on theirs. Compared
 * without case, as media types are. A token without `typ`, or of another type (an ID token typed
 * `id_token+jwt`, a logout token, a DPoP proof), is refused: it was not issued as an access token.
 */
export const accessTokenTypes = ['at+jwt', 'application/at+jwt', 'jwt'] as const;

export function isAccessTokenType(typ: unknown): boolean {
  return typeof typ === 'string' && (accessTokenTypes as readonly string[]).includes(typ.toLowerCase());
}

/** How the API verifies OIDC access tokens (OIDC_* settings; src/wiring/policies.ts reads them from the configuration). */
export interface OidcSettings {
  issuer: string;
  audience: string;
  /** Where the roles are in the token: a claim name, or a dotted path (realm_access.roles). */
  rolesClaim: string;
  clockSkewSeconds: number;
  /** Unset: read from the issuer's /.well-known/openid-configuration. */
  jwksUrl?: string | undefined;
  /** The signature algorithms taken (OIDC_ALGORITHMS); unset: every asymmetric one. */
  algorithms?: readonly string[] | undefined;
}
