import { inTransaction } from '../../db/transaction.js';
import type { App } from '../../domain/apps.js';
import type { DomainContext } from '../../domain/context.js';
import {
  authorizationProblem,
  codeHash,
  issueRefreshToken,
  revokeGrant,
  splitScope,
} from '../../domain/grants.js';
import type { AccessTokens } from '../access-token.js';
import { InvalidGrant, InvalidRequest } from '../errors.js';
import type { GrantHandler, TokenRequest, TokenResponse } from '../grant.js';
import { isValidVerifier, verifierMatches } from '../pkce.js';
import { checkResource } from '../resource.js';

/**
 * Checks that the grant's user may still use the app (not disabled, still in a tenant allowed to authorize
 * it). Used by the code and refresh grants.
 */
export async function userMayStillUse(ctx: DomainContext, app: App, userId: string): Promise<boolean> {
  const user = await ctx.db
    .selectFrom('users')
    .select(['tenant_id', 'disabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  return !!user && authorizationProblem(app, user) === null;
}

/**
 * The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 9700 §4.1–4.2). The client has been
 * authenticated (or, public, identified) before this runs, so a replay that fails authentication never
 * reaches the revocation below.
 */
export function authorizationCodeGrant(ctx: DomainContext, tokens: AccessTokens): GrantHandler {
  return {
    allowPublicClients: true,
    async handle({ params, client }: TokenRequest): Promise<TokenResponse> {
      const code = params.get('code');
      if (code === undefined) throw new InvalidRequest('The code parameter is required.');
      const redirectUri = params.get('redirect_uri');
      if (redirectUri === undefined) throw new InvalidRequest('The redirect_uri parameter is required.');
      const verifier = params.get('code_verifier');
      if (verifier !== undefined && !isValidVerifier(verifier))
        throw new InvalidRequest(
          'The code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~".',
        );
      if (code.length > 512) throw new InvalidGrant();
      checkResource(params, ctx.config.apiAudience);

      const hash = codeHash(ctx, code);
      const row = await ctx.db
        .selectFrom('authorization_codes')
        .innerJoin('grants', 'grants.id', 'authorization_codes.grant_id')
        .select([
          'authorization_codes.client_id',
          'authorization_codes.redirect_uri',
          'authorization_codes.code_challenge',
          'authorization_codes.expires_at',
          'authorization_codes.consumed_at',
          'grants.id as grant_id',
          'grants.user_id',
          'grants.tenant_id',
          'grants.scope',
          'grants.auth_time',
          'grants.revoked_at',
        ])
        .where('authorization_codes.code_hash', '=', hash)
        .executeTakeFirst();
      if (!row) throw new InvalidGrant('The authorization code is invalid or expired.');
      // Bound to the client: another client's code is simply invalid (and revokes nothing).
      if (row.client_id !== client.app.client_id)
        throw new InvalidGrant('The authorization code is invalid or expired.');
      if (row.redirect_uri !== redirectUri)
        throw new InvalidGrant('The redirect_uri differs from the one in the authorization request.');
      if (row.code_challenge === null && verifier !== undefined)
        throw new InvalidGrant(
          'A code_verifier was sent, but the authorization request had no code_challenge.',
        );
      if (row.code_challenge !== null) {
        if (verifier === undefined) throw new InvalidGrant('The code_verifier is required (PKCE was used).');
        if (!verifierMatches(verifier, row.code_challenge))
          throw new InvalidGrant('The code_verifier does not match.');
      }
      const now = ctx.now();
      if (row.expires_at <= now && row.consumed_at === null)
        throw new InvalidGrant('The authorization code is invalid or expired.');

      // Single use: exactly one concurrent redemption flips consumed_at.
      const res = await ctx.db
        .updateTable('authorization_codes')
        .set({ consumed_at: now })
        .where('code_hash', '=', hash)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        // A second valid redemption: the code leaked. Revoke everything issued from it (RFC 6749 §4.1.2).
        await revokeGrant(ctx, row.grant_id, 'code_replayed', `client:${client.app.client_id}`);
        throw new InvalidGrant('The authorization code has already been used.');
      }
      if (row.revoked_at !== null || !(await userMayStillUse(ctx, client.app, row.user_id)))
        throw new InvalidGrant('The authorization is no longer valid.');

      const scope = splitScope(row.scope);
      const refreshToken = await inTransaction(ctx.db, async (trx) => {
        await trx.updateTable('grants').set({ redeemed_at: now }).where('id', '=', row.grant_id).execute();
        return issueRefreshToken(ctx, trx, { id: row.grant_id, client_id: client.app.client_id }, scope);
      });
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
        scope: issued.claims.scope,
        refresh_token: refreshToken,
      };
    },
  };
}
