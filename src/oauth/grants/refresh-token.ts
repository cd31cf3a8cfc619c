import { inTransaction } from '../../db/transaction.js';
import type { DomainContext } from '../../domain/context.js';
import { issueRefreshToken, joinScope, refreshHash, revokeGrant, splitScope } from '../../domain/grants.js';
import { parseScope } from '../../domain/scopes.js';
import type { AccessTokens } from '../access-token.js';
import type { AuthenticatedClient } from '../client-auth.js';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import type { GrantHandler, TokenRequest, TokenResponse } from '../grant.js';
import type { IntrospectionResponse, TokenIntrospector } from '../introspection.js';
import { checkResource } from '../resource.js';
import type { TokenRevoker } from '../revocation.js';
import { userMayStillUse } from './authorization-code.js';

async function findRefreshToken(ctx: DomainContext, token: string) {
  if (token.length > 512) return undefined;
  return ctx.db
    .selectFrom('refresh_tokens')
    .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
    .select([
      'refresh_tokens.token_hash',
      'refresh_tokens.client_id',
      'refresh_tokens.scope',
      'refresh_tokens.created_at',
      'refresh_tokens.expires_at',
      'refresh_tokens.used_at',
      'grants.id as grant_id',
      'grants.user_id',
      'grants.tenant_id',
      'grants.auth_time',
      'grants.revoked_at',
    ])
    .where('refresh_tokens.token_hash', '=', refreshHash(ctx, token))
    .executeTakeFirst();
}

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
      const row = await findRefreshToken(ctx, presented);
      if (!row || row.client_id !== client.app.client_id)
        throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
      const now = ctx.now();
      if (row.revoked_at !== null || row.expires_at <= now)
        throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
      // RFC 9700 §4.14.2: any presentation of an already rotated token is reuse, whatever else the request
      // says, so it is decided before the scope and user checks (a replay with a bad scope must not probe
      // the token without consequence). Concurrent first uses are decided by the conditional update below.
      if (row.used_at !== null) return reuse(row.grant_id, client);
      checkResource(params, ctx.config.apiAudience);

      const original = splitScope(row.scope);
      let scope = original.filter((s) => client.app.scopes.includes(s));
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
      if (!(await userMayStillUse(ctx, client.app, row.user_id)))
        throw new InvalidGrant('The authorization is no longer valid.');

      // Rotation: the conditional update is the one check for reuse. Exactly one use (of any number of
      // concurrent ones) flips used_at; every other, earlier or concurrent, counts as reuse.
      const refreshToken = await inTransaction(ctx.db, async (trx) => {
        const res = await trx
          .updateTable('refresh_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', row.token_hash)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return null;
        return issueRefreshToken(ctx, trx, { id: row.grant_id, client_id: client.app.client_id }, original);
      });
      if (refreshToken === null) return reuse(row.grant_id, client);
      const issued = tokens.issue({
        sub: row.user_id,
        clientId: client.app.client_id,
        scope,
        tenantId: row.tenant_id,
        grantId: row.grant_id,
        authTime: Math.floor(row.auth_time / 1000),
      });
      return {
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: joinScope(scope),
        refresh_token: refreshToken,
      };
    },
  };
}

/** RFC 7009: revoking a refresh token revokes its whole grant (and so the grant's access tokens). */
export function refreshTokenRevoker(ctx: DomainContext): TokenRevoker {
  return async (token: string, client: AuthenticatedClient) => {
    const row = await findRefreshToken(ctx, token);
    if (!row) return false;
    if (row.client_id === client.app.client_id)
      await revokeGrant(ctx, row.grant_id, 'refresh_token_revoked', `client:${client.app.client_id}`);
    return true;
  };
}

/** RFC 7662 for refresh tokens: active only to the client they were issued to. */
export function refreshTokenIntrospector(ctx: DomainContext): TokenIntrospector {
  return async (token: string, client: AuthenticatedClient): Promise<IntrospectionResponse | null> => {
    const row = await findRefreshToken(ctx, token);
    if (!row) return null;
    const now = ctx.now();
    if (
      row.client_id !== client.app.client_id ||
      row.used_at !== null ||
      row.revoked_at !== null ||
      row.expires_at <= now
    )
      return { active: false };
    const user = await ctx.db
      .selectFrom('users')
      .select('disabled_at')
      .where('id', '=', row.user_id)
      .executeTakeFirst();
    if (!user || user.disabled_at !== null) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: row.client_id,
      scope: row.scope,
      sub: row.user_id,
      tid: row.tenant_id,
      iat: Math.floor(row.created_at / 1000),
      exp: Math.floor(row.expires_at / 1000),
      iss: ctx.config.issuer,
    };
  };
}
