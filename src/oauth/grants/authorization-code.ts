import type { DomainContext } from '../../domain/context.js';
import {
  consumeAuthorizationCode,
  findAuthorizationCode,
  redeemGrant,
  revokeGrant,
} from '../../domain/grant-store.js';
import { userMayStillUse } from '../../domain/grants.js';
import type { AccessTokens } from '../access-token.js';
import { InvalidGrant, InvalidRequest } from '../errors.js';
import {
  type GrantHandler,
  issuesRefreshTokens,
  type TokenRequest,
  type TokenResponse,
  tokenResponse,
} from '../grant.js';
import type { IdTokens } from '../oidc/id-token.js';
import { withIdToken } from '../oidc/token-response.js';
import { isValidVerifier, verifierMatches } from '../pkce.js';
import { type ApiLookup, grantScopes, targetForGrant } from '../resource.js';

/**
 * The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 9700 §4.1–4.2). The client has been
 * authenticated (or, public, identified) before this runs, so a replay that fails authentication never
 * reaches the revocation below. With `openid` in the scope the response carries an ID token with the request's
 * `nonce` (OIDC Core §3.1.3.3).
 */
export function authorizationCodeGrant(
  ctx: DomainContext,
  tokens: AccessTokens,
  idTokens: IdTokens,
  apis: ApiLookup,
): GrantHandler {
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

      const stored = await findAuthorizationCode(ctx, code);
      if (!stored) throw new InvalidGrant('The authorization code is invalid or expired.');
      // Bound to the client: another client's code is simply invalid (and revokes nothing).
      if (stored.clientId !== client.app.client_id)
        throw new InvalidGrant('The authorization code is invalid or expired.');
      if (stored.redirectUri !== redirectUri)
        throw new InvalidGrant('The redirect_uri differs from the one in the authorization request.');
      if (stored.codeChallenge === null && verifier !== undefined)
        throw new InvalidGrant(
          'A code_verifier was sent, but the authorization request had no code_challenge.',
        );
      if (stored.codeChallenge !== null) {
        if (verifier === undefined) throw new InvalidGrant('The code_verifier is required (PKCE was used).');
        if (!verifierMatches(verifier, stored.codeChallenge))
          throw new InvalidGrant('The code_verifier does not match.');
      }
      const now = ctx.now();
      if (stored.expiresAt <= now && stored.consumedAt === null)
        throw new InvalidGrant('The authorization code is invalid or expired.');

      // RFC 8707 §2.2: the token is for the grant's API, or another API the grant covers (decided before
      // the code is consumed, so a wrong resource does not cost the user their authorization).
      const { grant } = stored;
      const target = await targetForGrant(apis, grant.apiId, params);
      // Single use: exactly one concurrent redemption consumes the code.
      if (!(await consumeAuthorizationCode(ctx, stored, now))) {
        // A second valid redemption: the code leaked. Revoke everything issued from it (RFC 6749 §4.1.2).
        await revokeGrant(ctx, grant.id, 'code_replayed', `client:${client.app.client_id}`);
        throw new InvalidGrant('The authorization code has already been used.');
      }
      if (grant.revokedAt !== null || !userMayStillUse(client.app, stored.user))
        throw new InvalidGrant('The authorization is no longer valid.');

      const refreshToken = await redeemGrant(
        ctx,
        grant.id,
        client.app.client_id,
        stored.scope,
        now,
        issuesRefreshTokens(client.app),
      );
      const issued = await tokens.issue({
        sub: grant.userId,
        clientId: client.app.client_id,
        scope: grantScopes(target, stored.scope, client.permissions),
        audience: target.api.identifier,
        ttl: target.api.access_token_ttl,
        tenantId: grant.tenantId,
        grantId: grant.id,
        authTime: Math.floor(grant.authTime / 1000),
      });
      return withIdToken(tokenResponse(issued, refreshToken), idTokens, {
        app: client.app,
        grant,
        scope: stored.scope,
        nonce: stored.nonce,
      });
    },
  };
}
