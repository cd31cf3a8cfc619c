import { authenticateClient, type ClientAuthDeps, type ClientAuthGuard } from './client-auth.js';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from './errors.js';
import type { Params } from './form.js';
import { allowsGrant, type GrantHandler, type TokenResponse } from './grant.js';

export interface TokenEndpointDeps extends ClientAuthDeps {
  grants: ReadonlyMap<string, GrantHandler>;
}

/**
 * The token endpoint (RFC 6749 §3.2): picks the grant, authenticates the client, checks the client was
 * registered for that grant type (its `grant_types`; otherwise `unauthorized_client`, RFC 6749 §5.2), runs
 * the grant.
 *
 * @throws {OAuthError} subclasses, which the HTTP layer turns into RFC 6749 §5.2 bodies.
 */
export async function handleTokenRequest(
  deps: TokenEndpointDeps,
  authorization: string | undefined,
  params: Params,
  guard?: ClientAuthGuard,
): Promise<TokenResponse> {
  const grantType = params.get('grant_type');
  if (grantType === undefined) throw new InvalidRequest('The grant_type parameter is required.');
  const grant = deps.grants.get(grantType);
  if (!grant) throw new UnsupportedGrantType();
  const client = await authenticateClient(deps, authorization, params, {
    allowPublic: grant.allowPublicClients,
    guard,
  });
  if (!allowsGrant(client.app, grantType))
    throw new UnauthorizedClient(`This client is not registered for the ${grantType} grant type.`);
  return grant.handle({ params, client });
}
