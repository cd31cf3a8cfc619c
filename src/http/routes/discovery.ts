import type { FastifyInstance } from 'fastify';
import { publicScopeNames } from '../../domain/apis.js';
import type { Services } from '../../services.js';
import { allowAnyOrigin } from '../cors.js';
import { openIdMetadata } from './oidc-discovery.js';

/**
 * Authorization server metadata (RFC 8414 §2): every endpoint, grant, auth method, algorithm and scope
 * this server really supports, and nothing else.
 */
export async function serverMetadata(services: Services): Promise<Record<string, unknown>> {
  const issuer = services.config.issuer;
  const grants = [...services.grants.keys()];
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  const anyPublicGrant = [...services.grants.values()].some((g) => g.allowPublicClients);
  // The scopes of the built-in and public APIs; a tenant's own APIs are not advertised to everyone.
  const scopes = await publicScopeNames(services.ctx);
  const meta: Record<string, unknown> = { issuer };
  if (services.features.authorizationEndpoint) meta.authorization_endpoint = `${issuer}/oauth/authorize`;
  Object.assign(meta, {
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    scopes_supported: scopes,
    // RFC 8414 requires response_types_supported; only the code flow exists (no implicit).
    response_types_supported: services.features.authorizationEndpoint ? ['code'] : [],
    response_modes_supported: services.features.authorizationEndpoint ? ['query'] : [],
    grant_types_supported: grants,
    token_endpoint_auth_methods_supported: anyPublicGrant ? [...authMethods, 'none'] : authMethods,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    // RFC 7009 §2.1: public clients revoke their own tokens by client_id alone.
    revocation_endpoint_auth_methods_supported: anyPublicGrant ? [...authMethods, 'none'] : authMethods,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: authMethods,
    service_documentation: `${issuer}/api/docs`,
  });
  // RFC 8628 §4: where device clients start.
  if (services.features.deviceAuthorization)
    meta.device_authorization_endpoint = `${issuer}/oauth/device_authorization`;
  if (services.features.authorizationEndpoint) {
    meta.code_challenge_methods_supported = ['S256'];
    meta.authorization_response_iss_parameter_supported = true;
  }
  return meta;
}

export async function discoveryRoutes(app: FastifyInstance, services: Services): Promise<void> {
  // Public documents: any page may read them (cors.ts).
  app.get('/.well-known/oauth-authorization-server', async (_req, reply) =>
    allowAnyOrigin(reply).send(await serverMetadata(services)),
  );
  app.get('/.well-known/openid-configuration', async (_req, reply) =>
    allowAnyOrigin(reply).send(await openIdMetadata(services, await serverMetadata(services))),
  );
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    await services.keys.refreshIfStale();
    return allowAnyOrigin(reply)
      .header('cache-control', 'public, max-age=300')
      .header('content-type', 'application/jwk-set+json')
      .send(services.keys.jwks());
  });
}
