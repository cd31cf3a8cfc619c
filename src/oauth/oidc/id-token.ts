import { createHash } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { randomToken } from '../../crypto/random.js';
import type { IdTokenAlg } from '../../db/schema.js';
import type { DomainContext } from '../../domain/context.js';
import { type KeyStore, type LoadedKey, signWithKey } from '../../keys/key-store.js';
import { isCanonicalCompactJws } from '../access-token.js';

/** ID tokens live 5 minutes: the client reads them once, at sign-in. */
export const ID_TOKEN_TTL_SECONDS = 300;

/** The algorithms an app may choose for its ID tokens (`id_token_signed_response_alg`), RS256 first. */
export const ID_TOKEN_ALGS: readonly IdTokenAlg[] = ['RS256', 'ES256', 'EdDSA'];

/** The `amr` of a password sign-in (RFC 8176 §2). */
const AMR_PASSWORD = ['pwd'];

/** The Back-Channel Logout 1.0 §2.4 event member. */
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access token's ASCII octets, base64url,
 * with the hash of the ID token's algorithm: SHA-256 for RS256 and ES256, SHA-512 for EdDSA with Ed25519
 * (as node-oidc-provider and the OpenID conformance suite do).
 */
export function atHash(alg: IdTokenAlg, accessToken: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken, 'ascii')
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** What an ID token says (OIDC Core §2). */
export interface IdTokenInput {
  clientId: string;
  alg: IdTokenAlg;
  sub: string;
  /** When the user signed in (epoch ms). */
  authTime: number;
  nonce?: string | null;
  sid?: string | null;
  acr?: string | null;
  /** The access token issued with it, for `at_hash`. */
  accessToken?: string;
}

/** What a verified `id_token_hint` tells (OIDC Core §3.1.2.1): whose, for which client, which session. */
export interface IdTokenHint {
  sub: string;
  aud: string[];
  sid?: string;
}

async function signJwt(key: LoadedKey, header: string, claims: Record<string, unknown>): Promise<string> {
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
}

/**
 * Issues ID tokens and logout tokens with the key store's pre-parsed keys (one JSON encode and one signature
 * each), and verifies the ID tokens it issued when a client sends one back as a hint.
 */
export class IdTokens {
  constructor(
    private readonly ctx: DomainContext,
    private readonly keys: KeyStore,
  ) {}

  /** A signed ID token (OIDC Core §2, §3.1.3.6), valid for {@link ID_TOKEN_TTL_SECONDS}. */
  issue(input: IdTokenInput): Promise<string> {
    const iat = Math.floor(this.ctx.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.ctx.config.issuer,
      sub: input.sub,
      aud: input.clientId,
      exp: iat + ID_TOKEN_TTL_SECONDS,
      iat,
      auth_time: Math.floor(input.authTime / 1000),
    };
    if (input.nonce) claims.nonce = input.nonce;
    if (input.accessToken) claims.at_hash = atHash(input.alg, input.accessToken);
    if (input.sid) claims.sid = input.sid;
    claims.amr = AMR_PASSWORD;
    if (input.acr) claims.acr = input.acr;
    const key = this.keys.keyFor(input.alg);
    return signJwt(key, key.jwtHeader, claims);
  }

  /**
   * A Back-Channel Logout 1.0 §2.4 logout token for `sub` (and `sid`) at `clientId`: typed `logout+jwt`,
   * with `events`, a `jti`, and never a `nonce`. Valid 2 minutes.
   */
  logoutToken(input: {
    clientId: string;
    alg: IdTokenAlg;
    sub: string;
    sid?: string | null;
  }): Promise<string> {
    const iat = Math.floor(this.ctx.now() / 1000);
    const key = this.keys.keyFor(input.alg);
    const header = Buffer.from(JSON.stringify({ alg: key.alg, typ: 'logout+jwt', kid: key.kid })).toString(
      'base64url',
    );
    const claims: Record<string, unknown> = {
      iss: this.ctx.config.issuer,
      sub: input.sub,
      aud: input.clientId,
      iat,
      exp: iat + 120,
      jti: randomToken(16),
      events: { [LOGOUT_EVENT]: {} },
    };
    if (input.sid) claims.sid = input.sid;
    return signJwt(key, header, claims);
  }

  /**
   * Verifies an ID token this server issued, sent back as `id_token_hint`: the signature (a published key,
   * its own algorithm) and `iss`. An expired token is still a good hint (OIDC Core §3.1.2.1; RP-Initiated
   * Logout §2), so `exp` is not checked.
   *
   * @returns the hint, or `null` when it is not an ID token from this server.
   */
  async verifyHint(token: string): Promise<IdTokenHint | null> {
    if (token.length > 8192 || !isCanonicalCompactJws(token)) return null;
    let kid: unknown;
    let alg: unknown;
    let typ: unknown;
    try {
      ({ kid, alg, typ } = decodeProtectedHeader(token));
    } catch {
      return null;
    }
    if (typeof kid !== 'string' || (typ !== undefined && typ !== 'JWT')) return null;
    const key = await this.keys.verificationKey(kid);
    if (!key || alg !== key.alg) return null;
    let payload: Record<string, unknown>;
    try {
      const verified = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
      payload = JSON.parse(Buffer.from(verified.payload).toString('utf8'));
    } catch {
      return null;
    }
    if (payload.iss !== this.ctx.config.issuer || typeof payload.sub !== 'string') return null;
    const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
    if (!Array.isArray(aud) || !aud.every((a) => typeof a === 'string')) return null;
    const hint: IdTokenHint = { sub: payload.sub, aud: aud as string[] };
    if (typeof payload.sid === 'string') hint.sid = payload.sid;
    return hint;
  }
}
