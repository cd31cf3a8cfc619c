import type { DomainContext } from '../../domain/context.js';
import { findRefreshToken, revokeGrant, rotateRefreshToken } from '../../domain/grant-store.js';
import { userIsActive, userMayStillUse } from '../../domain/grants.js';
import { joinScope, parseScope } from '../../domain/scopes.js';
import type { AccessTokens } from '../access-token.js';
import type { AuthenticatedClient } from '../client-auth.js';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import { type GrantHandler, type TokenRequest, type TokenResponse, tokenResponse } from '../grant.js';
import type { IntrospectionResponse, TokenIntrospector } from '../introspection.js';
import { checkResource } from '../resource.js';
import type { TokenRevoker } from '../revocation.js';

/**
 * The refresh token grant (RFC 6749 §6, RFC 9700 §4.14.2): refresh tokens are bound to their client and
 * grant, rotate on every use, and a reused (already rotated) token revokes the whole grant. The new refresh
 * token keeps the original scope; the access token may carry a narrower one, never a wider one.
 */
export function refreshTokenGrant(ctx: DomainContext, tokens: AccessTokens): GrantHandler {
  const reuse = async (grantId: string, client: AuthenticatedClient): Promise<never> => {
    await revokeGrant(ctx, grantId, 'refresh_token_reused', `client:${client.app.client_id}`);
    throw new InvalidGrant('The refresh token was already used; the authorization has been revoked.');
  };
  return {
    allowPublicClients: true,
    async handle({ params, client }: TokenRequest): Promise<TokenResponse> {
      const presented = params.get('refresh_token');
      if (presented === undefined) throw new InvalidRequest('The refresh_token parameter is required.');
      const stored = await findRefreshToken(ctx, presented);
      if (!stored || stored.clientId !== client.app.client_id)
        throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
      const { grant } = stored;
      const now = ctx.now();
      if (grant.revokedAt !== null || stored.expiresAt <= now)
        throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
      // RFC 9700 §4.14.2: any presentation of an already rotated token is reuse, whatever else the request
      // says, so it is decided before the scope and user checks (a replay with a bad scope must not probe
      // the token without consequence). Concurrent first uses are decided by the rotation below.
      if (stored.usedAt !== null) return reuse(grant.id, client);
      checkResource(params, ctx.config.apiAudience);

      let scope = stored.scope.filter((s) => client.app.scopes.includes(s));
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
      if (!(await userMayStillUse(ctx, client.app, grant.userId)))
        throw new InvalidGrant('The authorization is no longer valid.');

      // Rotation is the one check for reuse: exactly one use (of any number of concurrent ones) gets the
      // successor; every other, earlier or concurrent, counts as reuse. The successor keeps the original scope.
      const refreshToken = await rotateRefreshToken(ctx, stored, stored.scope, now);
      if (refreshToken === null) return reuse(grant.id, client);
      const issued = tokens.issue({
        sub: grant.userId,
        clientId: client.app.client_id,
        scope,
        tenantId: grant.tenantId,
        grantId: grant.id,
        authTime: Math.floor(grant.authTime / 1000),
      });
      return tokenResponse(issued, refreshToken);
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
    if (!(await userIsActive(ctx, stored.grant.userId))) return { active: false };
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
