import type { DomainContext } from '../../domain/context.js';
import type { AccessTokens } from '../access-token.js';
import { UnauthorizedClient } from '../errors.js';
import { type GrantHandler, type TokenRequest, type TokenResponse, tokenResponse } from '../grant.js';
import { type ApiLookup, resolveScope, resolveTarget, usableScopes } from '../resource.js';

/**
 * The client credentials grant (RFC 6749 §4.4): confidential clients only; the token's subject is the
 * client itself (RFC 9068 §2.2). The token is for the API the request names (`resource`, RFC 8707) or the
 * default one, and carries only scopes a tenant admin granted the app for it; an API that does not allow
 * client_credentials is `unauthorized_client`. The app's permissions come with the client record and the
 * API from the cached catalogue, so no query is added.
 */
export function clientCredentialsGrant(
  ctx: DomainContext,
  tokens: AccessTokens,
  apis: ApiLookup,
): GrantHandler {
  return {
    allowPublicClients: false,
    async handle({ params, client }: TokenRequest): Promise<TokenResponse> {
      if (client.method === 'none' || client.app.client_type !== 'confidential')
        throw new UnauthorizedClient('The client_credentials grant is for confidential clients only.');
      const target = await resolveTarget(ctx, apis, params, client.app);
      if (!target.api.allow_client_credentials)
        throw new UnauthorizedClient(
          `The API ${target.api.identifier} does not accept tokens from the client_credentials grant.`,
        );
      const usable = usableScopes(target, client.permissions, 'client_credentials');
      const scope = resolveScope(target, usable, client.app, params.get('scope'), 'client_credentials');
      const issued = await tokens.issue({
        sub: client.app.client_id,
        clientId: client.app.client_id,
        scope,
        tenantId: client.app.tenant_id,
        audience: target.api.identifier,
        ttl: target.api.access_token_ttl,
      });
      return tokenResponse(issued);
    },
  };
}
