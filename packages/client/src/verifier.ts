/**
 * JWT access token verification for resource servers (RFC 9068 profile).
 *
 * @packageDocumentation
 */

import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { cachedDiscovery, requireEndpoint } from './discovery.js';
import { InsufficientScopeError, InvalidTokenError, JwksUnavailableError } from './errors.js';
import type { FetchLike } from './types.js';

/**
 * Default signature algorithm allow-list.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ issuer, audience, algorithms: [...DEFAULT_ALGORITHMS, 'PS256'] });
 * ```
 */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'EdDSA', 'RS256']);

/**
 * Options of {@link createVerifier}.
 *
 * @example
 * ```ts
 * const options: VerifierOptions = {
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 *   requiredScopes: ['orders:read'],
 *   clockToleranceSeconds: 10,
 * };
 * const verifier = createVerifier(options);
 * ```
 */
export interface VerifierOptions {
  /** Expected `iss` claim; also used to discover `jwks_uri` when `jwksUri` is not given. */
  issuer: string;
  /** This API's identifier(s); the token's `aud` must contain at least one. */
  audience: string | string[];
  /** Scopes every token must carry (per-call scopes are added to these). */
  requiredScopes?: string[] | undefined;
  /**
   * Accepted JWS algorithms. Default `['ES256', 'EdDSA', 'RS256']`. `none` and symmetric `HS*` algorithms are
   * refused: a resource server verifying with a public key must never accept a MAC keyed with that public key.
   */
  algorithms?: string[] | undefined;
  /** Allowed clock skew for `exp`/`nbf`, in seconds. Default 30. */
  clockToleranceSeconds?: number | undefined;
  /** JWKS URL. Default: `jwks_uri` from the issuer's metadata. */
  jwksUri?: string | undefined;
  /**
   * Minimum time between JWKS re-fetches triggered by an unknown `kid`, in milliseconds. Default 30 000. Prevents
   * a flood of tokens with random `kid`s from turning into a flood of JWKS requests.
   */
  jwksCooldownMs?: number | undefined;
  /** Maximum age of the cached JWKS before it is refreshed on the next verification, in ms. Default 600 000. */
  jwksCacheMaxAgeMs?: number | undefined;
  /** Custom `fetch` (used for discovery and the JWKS). Default: the platform `fetch`. */
  fetch?: FetchLike | undefined;
}

/**
 * Claims of a verified access token (RFC 9068 §2.2). `scope` is space-separated.
 *
 * @example
 * ```ts
 * const claims: AccessTokenClaims = await verifier.verify(token);
 * console.log(claims.sub, claims.client_id, claims.scope?.split(' '));
 * ```
 */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  exp: number;
  scope?: string;
  client_id?: string;
}

/**
 * Per-call options of {@link Verifier.verify}.
 *
 * @example
 * ```ts
 * await verifier.verify(token, { requiredScopes: ['orders:write'] } satisfies VerifyOptions);
 * ```
 */
export interface VerifyOptions {
  /** Scopes required in addition to the verifier's `requiredScopes`. */
  requiredScopes?: string[] | undefined;
}

/**
 * A JWT access token verifier, created by {@link createVerifier}.
 *
 * @example
 * ```ts
 * const verifier: Verifier = createVerifier({ issuer, audience: 'https://api.example.com' });
 * const claims = await verifier.verify(token);
 * ```
 */
export interface Verifier {
  /**
   * Verifies a JWT access token and returns its claims.
   *
   * @throws {@link InvalidTokenError} (→ 401), {@link InsufficientScopeError} (→ 403), or
   *   {@link JwksUnavailableError} when keys cannot be fetched.
   */
  verify(token: string, options?: VerifyOptions): Promise<AccessTokenClaims>;
  /** The configured issuer. */
  readonly issuer: string;
  /** The accepted audiences. */
  readonly audience: readonly string[];
}

/**
 * The scopes a token grants: its space-separated `scope` claim (RFC 9068 §2.2.3), falling back to an `scp`
 * claim (array or space-separated string) used by some servers.
 *
 * @example
 * ```ts
 * import { grantedScopes } from '@clavis/client';
 *
 * grantedScopes({ scope: 'orders:read orders:write' }); // Set { 'orders:read', 'orders:write' }
 * ```
 */
export function grantedScopes(claims: JWTPayload): Set<string> {
  const raw = claims.scope ?? claims.scp;
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  return new Set(list.filter((s): s is string => typeof s === 'string' && s.length > 0));
}

/**
 * What a JWT access token must satisfy beyond its signature, as {@link accessTokenVerifyOptions} takes it.
 *
 * @example
 * ```ts
 * const rules: AccessTokenRules = { issuer, audience: 'https://api.example.com', algorithms: ['ES256'] };
 * ```
 */
export interface AccessTokenRules {
  issuer: string;
  audience: string | string[];
  algorithms: string[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockToleranceSeconds?: number | undefined;
  /**
   * When set, `iat` is required, may not lie in the future, and a token older than this is refused whatever
   * its `exp` says (a cap on the lifetime, for an issuer that knows its own access token TTL).
   */
  maxTokenAgeSeconds?: number | undefined;
  /** The time to check against (tests, an issuer with its own clock). Default: now. */
  currentDate?: Date | undefined;
}

/**
 * The `jwtVerify` options for an RFC 9068 access token: header `typ` `at+jwt` (§2.1, `application/at+jwt`
 * accepted), `iss` and `aud` (§4), `exp` required, `nbf` honoured, with a clock tolerance. The SDK's verifier
 * and the Clavis server build their checks here, so the two cannot drift.
 *
 * @example
 * ```ts
 * import { jwtVerify } from 'jose';
 * const { payload } = await jwtVerify(token, key, accessTokenVerifyOptions({ issuer, audience, algorithms: ['ES256'] }));
 * ```
 */
export function accessTokenVerifyOptions(rules: AccessTokenRules): JWTVerifyOptions {
  const options: JWTVerifyOptions = {
    issuer: rules.issuer,
    audience: rules.audience,
    algorithms: rules.algorithms,
    clockTolerance: rules.clockToleranceSeconds ?? 30,
    typ: 'at+jwt',
    requiredClaims: ['exp'],
  };
  if (rules.maxTokenAgeSeconds !== undefined) options.maxTokenAge = rules.maxTokenAgeSeconds;
  if (rules.currentDate !== undefined) options.currentDate = rules.currentDate;
  return options;
}

/** {@link AccessTokenRules} for a caller that checked the signature and its algorithm itself. */
export type AccessTokenClaimRules = Omit<AccessTokenRules, 'algorithms' | 'audience'> & {
  /** As in {@link AccessTokenRules}; leave it out to accept any `aud` (the caller checks it). */
  audience?: string | string[] | undefined;
};

/** `typ` values compared as media types, as jose does: `at+jwt` is `application/at+jwt` (RFC 7515 §4.1.9). */
function mediaType(typ: string): string {
  const t = typ.toLowerCase();
  return t.includes('/') ? t : `application/${t}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}

/**
 * The checks of {@link accessTokenVerifyOptions}, made directly on a protected header and a decoded claims set,
 * for a caller that verified the signature itself: header `typ` `at+jwt`; `exp` present; `iss` and `aud` (when
 * an audience is given) present and matching; `iat`, `nbf` and `exp` numbers when present; `nbf` not in the
 * future, `exp` not past, and with `maxTokenAgeSeconds`, `iat` present, not in the future and not older than
 * that; all with the clock tolerance. It gives the same answer as jose's `jwtVerify` with those options on every
 * claims set (the SDK's tests compare the two on generated ones), and exists because the Clavis server verifies
 * its own tokens' signatures with node:crypto on the thread pool, which costs the event loop a third of what
 * jose's WebCrypto call does.
 *
 * @example
 * ```ts
 * if (!accessTokenClaimsPass(header, claims, { issuer, audience: 'https://api.example.com' })) return null;
 * ```
 * @returns whether the claims pass.
 */
export function accessTokenClaimsPass(
  header: { typ?: unknown },
  claims: unknown,
  rules: AccessTokenClaimRules,
): claims is JWTPayload {
  if (typeof header.typ !== 'string' || mediaType(header.typ) !== 'application/at+jwt') return false;
  if (!isPlainObject(claims)) return false;
  const { iss, aud, iat, nbf, exp } = claims;
  if (iss !== rules.issuer) return false;
  if (rules.audience !== undefined) {
    const wanted = typeof rules.audience === 'string' ? [rules.audience] : rules.audience;
    const found =
      typeof aud === 'string'
        ? wanted.includes(aud)
        : Array.isArray(aud) && wanted.some((a) => aud.includes(a));
    if (!found) return false;
  }
  if (iat !== undefined && typeof iat !== 'number') return false;
  if (nbf !== undefined && typeof nbf !== 'number') return false;
  if (typeof exp !== 'number') return false;
  const tolerance = rules.clockToleranceSeconds ?? 30;
  const now = Math.floor((rules.currentDate ?? new Date()).getTime() / 1000);
  if (nbf !== undefined && nbf > now + tolerance) return false;
  if (exp <= now - tolerance) return false;
  if (rules.maxTokenAgeSeconds !== undefined) {
    if (typeof iat !== 'number') return false;
    const age = now - iat;
    if (age - tolerance > rules.maxTokenAgeSeconds || age < -tolerance) return false;
  }
  return true;
}

function assertSafeAlgorithms(algorithms: string[]): void {
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg)) {
      throw new TypeError(`Algorithm ${alg} is not allowed for access token verification`);
    }
  }
}

/** Strips characters that do not belong in an error description. */
function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/[^\x20-\x7E]/g, '').slice(0, 200);
}

/**
 * Creates a verifier for JWT access tokens (RFC 9068) issued by `issuer` for `audience`.
 *
 * Each token must: be a JWS signed with an allow-listed asymmetric algorithm by a key in the issuer's JWKS; have
 * header `typ` `at+jwt` (or `application/at+jwt`); carry the expected `iss`, an `aud` containing the audience, and
 * an `exp` in the future (with `clockToleranceSeconds` leeway, which also applies to `nbf`); and grant all required
 * scopes. The JWKS is cached; a token with an unknown `kid` triggers a re-fetch at most once per `jwksCooldownMs`
 * (key rotation is picked up, random `kid`s cannot hammer the authorization server).
 *
 * @example
 * ```ts
 * import { createVerifier, extractBearerToken, InsufficientScopeError } from '@clavis/client';
 *
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 *   requiredScopes: ['orders:read'],
 * });
 *
 * const token = extractBearerToken(req.headers.authorization);
 * const claims = await verifier.verify(token ?? '');
 * console.log(claims.sub, claims.client_id, claims.scope);
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (!options.issuer) throw new TypeError('issuer is required');
  const audience = [options.audience].flat().filter(Boolean);
  if (audience.length === 0) throw new TypeError('audience is required');
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  assertSafeAlgorithms(algorithms);
  const allowed = new Set(algorithms);
  const baseScopes = options.requiredScopes ?? [];
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const fetchImpl = options.fetch ?? fetch;

  const metadata = cachedDiscovery(options.issuer, { fetch: options.fetch });
  let jwks: Promise<JWTVerifyGetKey> | undefined;
  const getJwks = () => {
    if (!jwks) {
      jwks = (async () => {
        const uri = options.jwksUri ?? requireEndpoint(await metadata(), 'jwks_uri');
        return createRemoteJWKSet(new URL(uri), {
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
          [customFetch]: (url, init) => fetchImpl(url, init),
        });
      })();
      jwks.catch(() => {
        jwks = undefined;
      });
    }
    return jwks;
  };

  return {
    issuer: options.issuer,
    audience,

    async verify(token, verifyOptions = {}) {
      if (typeof token !== 'string' || token.length === 0) throw new InvalidTokenError('No access token');

      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (err) {
        throw new InvalidTokenError('Access token is not a JWT', { cause: err });
      }
      if (typeof alg !== 'string' || !allowed.has(alg)) {
        throw new InvalidTokenError(`Signature algorithm ${JSON.stringify(alg)} is not allowed`);
      }

      let keySet: JWTVerifyGetKey;
      try {
        keySet = await getJwks();
      } catch (err) {
        throw new JwksUnavailableError(`Unable to locate the JWKS of ${options.issuer}: ${describe(err)}`, {
          cause: err,
        });
      }
      const getKey: JWTVerifyGetKey = async (header, input) => {
        try {
          return await keySet(header, input);
        } catch (err) {
          if (
            err instanceof joseErrors.JWKSNoMatchingKey ||
            err instanceof joseErrors.JWKSMultipleMatchingKeys
          ) {
            throw err;
          }
          throw new JwksUnavailableError(`Unable to fetch the JWKS of ${options.issuer}: ${describe(err)}`, {
            cause: err,
          });
        }
      };

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(
          token,
          getKey,
          accessTokenVerifyOptions({
            issuer: options.issuer,
            audience,
            algorithms,
            clockToleranceSeconds: clockTolerance,
          }),
        ));
      } catch (err) {
        if (err instanceof JwksUnavailableError) throw err;
        if (err instanceof joseErrors.JWKSNoMatchingKey) {
          throw new InvalidTokenError('No key in the JWKS matches the token', { cause: err });
        }
        throw new InvalidTokenError(describe(err), { cause: err });
      }

      const required = [...new Set([...baseScopes, ...(verifyOptions.requiredScopes ?? [])])];
      if (required.length > 0) {
        const granted = grantedScopes(payload);
        const missing = required.filter((scope) => !granted.has(scope));
        if (missing.length > 0) throw new InsufficientScopeError(required, missing);
      }
      return payload as AccessTokenClaims;
    },
  };
}
