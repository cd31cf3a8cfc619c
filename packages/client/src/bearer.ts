/**
 * Framework-independent RFC 6750 request authentication: extract the bearer token, verify it, and describe the
 * HTTP error response when it is missing or rejected.
 *
 * @packageDocumentation
 */

import { BearerTokenError, InsufficientScopeError } from './errors.js';
import type { AccessTokenClaims, Verifier } from './verifier.js';
import { bearerChallenge } from './www-authenticate.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Extracts the token from an `Authorization: Bearer <token>` header value (RFC 6750 §2.1; the scheme is
 * case-insensitive). Returns `undefined` when the header is absent, repeated, uses another scheme, or is malformed.
 *
 * @example
 * ```ts
 * import { extractBearerToken } from '@clavis/client';
 *
 * extractBearerToken('Bearer eyJhbGciOi...'); // 'eyJhbGciOi...'
 * extractBearerToken('bearer abc');           // 'abc'
 * extractBearerToken('Basic dXNlcjpwdw==');   // undefined
 * ```
 */
export function extractBearerToken(authorization: string | string[] | null | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  return BEARER.exec(authorization.trim())?.[1];
}

/**
 * Options shared by the middlewares and {@link authenticateBearer}.
 *
 * @example
 * ```ts
 * app.get('/admin', { preHandler: fastifyBearerAuth(verifier, { realm: 'admin-api', requiredScopes: ['admin'] }) }, handler);
 * ```
 */
export interface BearerAuthOptions {
  /** `realm` of the challenge. Default: the verifier's first audience. */
  realm?: string | undefined;
  /** Scopes this route requires, in addition to the verifier's `requiredScopes`. */
  requiredScopes?: string[] | undefined;
}

/**
 * Outcome of {@link authenticateBearer}.
 *
 * @example
 * ```ts
 * const result: BearerAuthResult = await authenticateBearer(verifier, headers.authorization);
 * if (!result.ok) console.log(result.status, result.wwwAuthenticate);
 * ```
 */
export type BearerAuthResult =
  | { ok: true; token: string; claims: AccessTokenClaims }
  | {
      ok: false;
      /** 401 for a missing or invalid token, 403 for insufficient scope. */
      status: 401 | 403;
      /** Value for the `WWW-Authenticate` response header. */
      wwwAuthenticate: string;
      /** JSON body to send. */
      body: { error: string; error_description: string };
      /** The verification error, if a token was present. */
      cause?: BearerTokenError;
    };

/**
 * Authenticates a request from its `Authorization` header. Returns the claims, or the RFC 6750 §3 response to send:
 * - no bearer token → 401 `WWW-Authenticate: Bearer realm="..."` (no error code, per §3.1);
 * - invalid token → 401 `Bearer realm="...", error="invalid_token", error_description="..."`;
 * - missing scopes → 403 `Bearer realm="...", error="insufficient_scope", scope="..."`.
 *
 * Errors other than {@link BearerTokenError} (e.g. {@link JwksUnavailableError}) are thrown.
 *
 * @example
 * ```ts
 * import { authenticateBearer } from '@clavis/client';
 *
 * const result = await authenticateBearer(verifier, request.headers.authorization);
 * if (!result.ok) {
 *   return new Response(JSON.stringify(result.body), {
 *     status: result.status,
 *     headers: { 'www-authenticate': result.wwwAuthenticate, 'content-type': 'application/json' },
 *   });
 * }
 * console.log(result.claims.sub);
 * ```
 */
export async function authenticateBearer(
  verifier: Verifier,
  authorization: string | string[] | null | undefined,
  options: BearerAuthOptions = {},
): Promise<BearerAuthResult> {
  const realm = options.realm ?? verifier.audience[0];
  const token = extractBearerToken(authorization);
  if (token === undefined) {
    return {
      ok: false,
      status: 401,
      wwwAuthenticate: bearerChallenge({ realm }),
      body: { error: 'unauthorized', error_description: 'A Bearer access token is required' },
    };
  }
  try {
    const claims = await verifier.verify(token, { requiredScopes: options.requiredScopes });
    return { ok: true, token, claims };
  } catch (err) {
    if (!(err instanceof BearerTokenError)) throw err;
    const scope = err instanceof InsufficientScopeError ? err.requiredScopes.join(' ') : undefined;
    return {
      ok: false,
      status: err.status,
      wwwAuthenticate: bearerChallenge({ realm, error: err.error, error_description: err.message, scope }),
      body: { error: err.error, error_description: err.message },
      cause: err,
    };
  }
}
