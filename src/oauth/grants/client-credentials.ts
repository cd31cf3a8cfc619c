import type { AccessTokens } from '../access-token.js';
import { UnauthorizedClient } from '../errors.js';
import { type GrantHandler, type TokenRequest, type TokenResponse, tokenResponse } from '../grant.js';
import { checkResource } from '../resource.js';
import { resolveRequestedScope } from '../scope-request.js';

/**
 * The client credentials grant (RFC 6749 §4.4): confidential clients only; the token's subject is the
 * client itself (RFC 9068 §2.2).
 */
export function clientCredentialsGrant(tokens: AccessTokens, audience: string): GrantHandler {
  return {
    allowPublicClients: false,
    async handle({ params, client }: TokenRequest): Promise<TokenResponse> {
      if (client.method === 'none' || client.app.client_type !== 'confidential')
        throw new UnauthorizedClient('The client_credentials grant is for confidential clients only.');
      checkResource(params, audience);
      const scope = resolveRequestedScope(client.app, params.get('scope'));
      const issued = tokens.issue({
        sub: client.app.client_id,
        clientId: client.app.client_id,
        scope,
        tenantId: client.app.tenant_id,
      });
      return tokenResponse(issued);
    },
  };
}
