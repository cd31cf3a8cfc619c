import { accessTokenClaimsPass } from '@clavis/client';
import { decodeProtectedHeader } from 'jose';
import { randomToken } from '../crypto/random.js';
import { builtInIdentifier } from '../domain/apis.js';
import type { DomainContext } from '../domain/context.js';
import { joinScope } from '../domain/scopes.js';
import { type KeyStore, signWithKey, verifyWithKey } from '../keys/key-store.js';

/** The claims of a Clavis access token (RFC 9068 §2.2, plus `tid`, the tenant, and `gid`, the user grant). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  tid: string;
  /** The user grant the token came from (authorization code flow), so revoking the grant ends it at once. */
  gid?: string;
  auth_time?: number;
}

export interface IssueInput {
  sub: string;
  clientId: string;
  scope: string[];
  tenantId: string;
  grantId?: string;
  authTime?: number;
  /** The API's identifier (RFC 9068 §3: one audience per token); default `CLAVIS_API_AUDIENCE`. */
  audience?: string;
  /** The API's access token lifetime in seconds; default `CLAVIS_ACCESS_TOKEN_TTL`. */
  ttl?: number;
}

/** Which audiences {@link AccessTokens.verify} accepts. */
export type AudienceRule =
  /** The server's own APIs (the built-in sample and management APIs): Clavis's own endpoints. */
  | 'own'
  /** Any audience this server issues for (introspection and revocation, which look the API up). */
  | 'any';

/** The longest access token lifetime an API may have (seconds). */
export const MAX_ACCESS_TOKEN_TTL = 86400;

export interface IssuedAccessToken {
  token: string;
  claims: AccessTokenClaims;
  expiresIn: number;
}

/** JSON is UTF-8 (RFC 8259 §8.1); a payload that is not is refused, as jose refuses it. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
/** Base64url characters whose low 4 (or 2) bits are zero: valid last characters of a 2- (or 3-) char group. */
const LAST_OF_2 = 'AQgw';
const LAST_OF_3 = 'AEIMQUYcgkosw048';

function isCanonicalSegment(s: string): boolean {
  const rem = s.length % 4;
  if (rem === 1) return false;
  if (rem === 0) return true;
  return (rem === 2 ? LAST_OF_2 : LAST_OF_3).includes(s[s.length - 1]!);
}

/**
 * Whether a token is a compact JWS in canonical base64url (RFC 7515 §2, RFC 4648 §3.5: no padding, no
 * whitespace, no non-zero unused bits). Decoders are lenient, so without this several strings would verify
 * as the same token, and anything keyed on the token string could be fooled.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const m = COMPACT_JWS.exec(token);
  return m !== null && isCanonicalSegment(m[1]!) && isCanonicalSegment(m[2]!) && isCanonicalSegment(m[3]!);
}

/** Clock skew allowed between nodes (and resource servers) for `exp`, `nbf` and `iat`, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * Issues and verifies JWT access tokens (RFC 9068). Signing uses the pre-parsed key and a pre-encoded
 * header, so the hot path does one JSON encode and one signature.
 */
export class AccessTokens {
  readonly #ownAudiences: string[];

  constructor(
    private readonly ctx: DomainContext,
    private readonly keys: KeyStore,
  ) {
    this.#ownAudiences = [
      builtInIdentifier(ctx.config, 'sample'),
      builtInIdentifier(ctx.config, 'management'),
    ];
  }

  async issue(input: IssueInput): Promise<IssuedAccessToken> {
    const cfg = this.ctx.config;
    const iat = Math.floor(this.ctx.now() / 1000);
    const ttl = input.ttl ?? cfg.accessTokenTtl;
    const claims: AccessTokenClaims = {
      iss: cfg.issuer,
      sub: input.sub,
      aud: input.audience ?? cfg.apiAudience,
      client_id: input.clientId,
      scope: joinScope(input.scope),
      iat,
      exp: iat + ttl,
      jti: randomToken(16),
      tid: input.tenantId,
    };
    if (input.grantId) claims.gid = input.grantId;
    if (input.authTime) claims.auth_time = input.authTime;
    const key = this.keys.signingKey();
    const signingInput = `${key.atHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const token = `${signingInput}.${(await signWithKey(key, signingInput)).toString('base64url')}`;
    return { token, claims, expiresIn: ttl };
  }

  /**
   * Whether a verified token is no older than its API's access token lifetime (with the clock leeway): the
   * cap on `exp` that {@link verify} applies for the server's own APIs, for a token verified with `'any'`.
   */
  withinLifetime(claims: Pick<AccessTokenClaims, 'iat'>, ttlSeconds: number): boolean {
    return Math.floor(this.ctx.now() / 1000) - claims.iat - CLOCK_TOLERANCE_SECONDS <= ttlSeconds;
  }

  /**
   * Verifies a Clavis access token's signature, header and claims with the SDK's rules
   * ({@link accessTokenClaimsPass}, which agrees with the SDK's `accessTokenVerifyOptions` for jose): the
   * header must be the one Clavis signs under (`typ` `at+jwt`, the key's own algorithm, so `alg: none` and
   * HS256-with-the-public-key fail), the signature is checked on the thread pool, `iss` and `aud` must match,
   * `exp` and `nbf` hold, and `iat` may be neither in the future nor older than the configured access token
   * TTL (a cap on `exp`), all with {@link CLOCK_TOLERANCE_SECONDS} of leeway. The key comes from the key
   * store's cache. Revocation is checked separately. With `audiences: 'own'` (the default) `aud` must be one of
   * the built-in APIs' identifiers; with `'any'` it must be a single string, and the caller looks its API up
   * (the lifetime cap is then the longest an API may have).
   *
   * @returns the claims, or `null` for any invalid token.
   */
  async verify(token: string, audiences: AudienceRule = 'own'): Promise<AccessTokenClaims | null> {
    if (token.length > 8192 || !isCanonicalCompactJws(token)) return null;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return null;
    }
    if (typeof header.kid !== 'string') return null;
    const key = await this.keys.verificationKey(header.kid);
    // Clavis signs its access tokens under the key's own pre-encoded header and no other, so a token with any
    // other header (another `alg` or `typ`, `crit`, `jku`, `b64`…) is not one of its tokens.
    const headerEnd = token.indexOf('.');
    const payloadEnd = token.indexOf('.', headerEnd + 1);
    if (!key || token.slice(0, headerEnd) !== key.atHeader) return null;
    const signature = Buffer.from(token.slice(payloadEnd + 1), 'base64url');
    if (!(await verifyWithKey(key, token.slice(0, payloadEnd), signature))) return null;
    let claims: unknown;
    try {
      claims = JSON.parse(
        STRICT_UTF8.decode(Buffer.from(token.slice(headerEnd + 1, payloadEnd), 'base64url')),
      );
    } catch {
      return null;
    }
    const cfg = this.ctx.config;
    const rules = {
      issuer: cfg.issuer,
      audience: audiences === 'own' ? this.#ownAudiences : undefined,
      clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
      // Any API's token lives at most a day (API TTLs and CLAVIS_ACCESS_TOKEN_TTL are capped there).
      maxTokenAgeSeconds: audiences === 'own' ? cfg.accessTokenTtl : MAX_ACCESS_TOKEN_TTL,
      currentDate: new Date(this.ctx.now()),
    };
    if (!accessTokenClaimsPass(header, claims, rules)) return null;
    if (
      typeof claims.jti !== 'string' ||
      typeof claims.client_id !== 'string' ||
      typeof claims.sub !== 'string' ||
      typeof claims.tid !== 'string' ||
      typeof claims.scope !== 'string' ||
      typeof claims.aud !== 'string' ||
      (claims.gid !== undefined && typeof claims.gid !== 'string')
    )
      return null;
    return claims as unknown as AccessTokenClaims;
  }
}
