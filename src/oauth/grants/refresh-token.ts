import type { DomainContext } from '../../domain/context.js';
import {
  findAndRotateRefreshToken,
  findRefreshToken,
  revokeGrant,
  rotateRefreshTokenAgain,
  type StoredRefreshToken,
  undoRotation,
} from '../../domain/grant-store.js';
import { userIsActive, userMayStillUse } from '../../domain/grants.js';
import { joinScope, parseScope } from '../../domain/scopes.js';
import type { AccessTokens, IssuedAccessToken } from '../access-token.js';
import type { AuthenticatedClient } from '../client-auth.js';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import { type GrantHandler, type TokenRequest, type TokenResponse, tokenResponse } from '../grant.js';
import type { IntrospectionResponse, TokenIntrospector } from '../introspection.js';
import type { IdTokens } from '../oidc/id-token.js';
import { withIdToken } from '../oidc/token-response.js';
import { type ApiLookup, grantScopes, targetForGrant } from '../resource.js';
import type { TokenRevoker } from '../revocation.js';

/**
 * Whether a presented, already rotated token is a retry within the reuse grace (`CLAVIS_REFRESH_REUSE_GRACE`):
 * a client whose previous refresh answer was lost (a crash after the rotation committed) may present it once
 * more, shortly after, instead of losing the user's grant. Strict RFC 9700 §4.14.2 reuse detection when the
 * grace is 0. Whether it is the immediately previous token, with an unused successor, is decided by the
 * store ({@link rotateRefreshTokenAgain}).
 */
function withinReuseGrace(ctx: DomainContext, stored: StoredRefreshToken, now: number): boolean {
  const graceMs = ctx.config.refreshReuseGrace * 1000;
  return graceMs > 0 && stored.usedAt !== null && now - stored.usedAt <= graceMs;
}

/**
 * The refresh token grant (RFC 6749 §6, RFC 9700 §4.14.2): refresh tokens are bound to their client and
 * grant, rotate on every use, and a reused (already rotated) token revokes the whole grant, unless it is the
 * previous token retried once within the configured reuse grace, which rotates again and invalidates its
 * unused successor. The new refresh token keeps the original scope; the access token may carry a narrower
 * one, never a wider one. With `openid` in the scope a new ID token comes along (OIDC Core §12.2).
 */
export function refreshTokenGrant(
  ctx: DomainContext,
  tokens: AccessTokens,
  idTokens: IdTokens,
  apis: ApiLookup,
): GrantHandler {
  const reuse = async (grantId: string, client: AuthenticatedClient): Promise<never> => {
    await revokeGrant(ctx, grantId, 'refresh_token_reused', `client:${client.app.client_id}`);
    throw new InvalidGrant('The refresh token was already used; the authorization has been revoked.');
  };
  return {
    allowPublicClients: true,
    async handle({ params, client }: TokenRequest): Promise<TokenResponse> {
      const presented = params.get('refresh_token');
      if (presented === undefined) throw new InvalidRequest('The refresh_token parameter is required.');
      const now = ctx.now();
      // The lookup rotates the token too when it may (one round trip): unused, this client's, unexpired, of
      // a live grant. Rotation is the one check for reuse: exactly one use (of any number of concurrent
      // ones) gets the successor; every other, earlier or concurrent, counts as reuse.
      const found = await findAndRotateRefreshToken(ctx, presented, client.app.client_id, now);
      if (!found || found.stored.clientId !== client.app.client_id)
        throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
      const { stored } = found;
      const { grant } = stored;
      if (grant.revokedAt !== null || stored.expiresAt <= now)
        throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
      // RFC 9700 §4.14.2: any presentation of an already rotated token is reuse, whatever else the request
      // says, so it is decided before the scope and user checks (a replay with a bad scope must not probe
      // the token without consequence); so is a first use that lost the race to a concurrent one. Within
      // the reuse grace the previous token is handled like a first use, and the store decides whether it may.
      const retry = stored.usedAt !== null;
      if (retry ? !withinReuseGrace(ctx, stored, now) : found.next === null) return reuse(grant.id, client);
      let issued: IssuedAccessToken;
      try {
        // RFC 8707 §2.2: a refresh may ask for a token for another API the grant covers.
        const target = await targetForGrant(apis, grant.apiId, params);
        let scope = grantScopes(target, stored.scope, client.permissions);
        const rawScope = params.get('scope');
        if (rawScope !== undefined) {
          const requested = parseScope(rawScope);
          if (requested === null) throw new InvalidScope('The scope parameter is malformed.');
          if (requested.some((s) => !scope.includes(s)))
            throw new InvalidScope(
              'A refresh may narrow the scope, never widen it beyond what the user granted.',
            );
          if (requested.length > 0) scope = requested;
        }
        if (!userMayStillUse(client.app, stored.user))
          throw new InvalidGrant('The authorization is no longer valid.');
        issued = await tokens.issue({
          sub: grant.userId,
          clientId: client.app.client_id,
          scope,
          tenantId: grant.tenantId,
          grantId: grant.id,
          authTime: Math.floor(grant.authTime / 1000),
          audience: target.api.identifier,
          ttl: target.api.access_token_ttl,
        });
      } catch (err) {
        // A refused request never costs the client its token: the rotation this lookup made is undone.
        if (found.next !== null) await undoRotation(ctx, stored, found.next);
        throw err;
      }
      // The successor keeps the original scope.
      const refreshToken = found.next ?? (await rotateRefreshTokenAgain(ctx, stored, stored.scope));
      if (refreshToken === null) return reuse(grant.id, client);
      // OIDC Core §12.2: a new ID token with the same sub and auth_time, and no nonce.
      // The grant's scope decides, whichever API this access token is for: a grant the user gave `openid`
      // gets an ID token on every refresh (the access token's own `scope` holds only its API's scopes).
      return withIdToken(tokenResponse(issued, refreshToken), idTokens, {
        app: client.app,
        grant,
        scope: stored.scope,
      });
    },
  };
}

/** RFC 7009: revoking a refresh token revokes its whole grant (and so the grant's access tokens). */
export function refreshTokenRevoker(ctx: DomainContext): TokenRevoker {
  return async (token: string, client: AuthenticatedClient) => {
    const stored = await findRefreshToken(ctx, token);
    if (!stored) return false;
    if (stored.clientId === client.app.client_id)
      await revokeGrant(ctx, stored.grant.id, 'refresh_token_revoked', `client:${client.app.client_id}`);
    return true;
  };
}

/** RFC 7662 for refresh tokens: active only to the client they were issued to. */
export function refreshTokenIntrospector(ctx: DomainContext): TokenIntrospector {
  return async (token: string, client: AuthenticatedClient): Promise<IntrospectionResponse | null> => {
    const stored = await findRefreshToken(ctx, token);
    if (!stored) return null;
    const now = ctx.now();
    if (
      stored.clientId !== client.app.client_id ||
      stored.usedAt !== null ||
      stored.grant.revokedAt !== null ||
      stored.expiresAt <= now
    )
      return { active: false };
    if (!userIsActive(stored.user)) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: stored.clientId,
      scope: joinScope(stored.scope),
      sub: stored.grant.userId,
      tid: stored.grant.tenantId,
      iat: Math.floor(stored.createdAt / 1000),
      exp: Math.floor(stored.expiresAt / 1000),
      iss: ctx.config.issuer,
    };
  };
}
