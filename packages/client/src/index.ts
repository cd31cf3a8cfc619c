/**
 * `@clavis/client`: OAuth 2.0 client SDK for Clavis and any RFC 8414 authorization server.
 *
 * - {@link clientCredentials}: cached, single-flight, self-refreshing client credentials tokens.
 * - {@link authorizedFetch}: `fetch` with `Authorization: Bearer`, retrying once on `invalid_token`.
 * - {@link authorizationCode}: authorization code + PKCE S256 + RFC 9207 `iss` checks.
 * - {@link refreshTokenSource}: refresh token grant with rotation-safe persistence.
 * - {@link createVerifier}, {@link fastifyBearerAuth}, {@link expressBearerAuth}: JWT access token validation for
 *   resource servers.
 *
 * @example
 * ```ts
 * import { authorizedFetch, clientCredentials } from '@clavis/client';
 *
 * const tokens = clientCredentials({ issuer: 'https://auth.example.com', clientId, clientSecret });
 * const api = authorizedFetch(tokens);
 * const orders = await (await api('https://api.example.com/orders')).json();
 * ```
 *
 * @packageDocumentation
 */

export * from './authorization-code.js';
export * from './authorized-fetch.js';
export * from './backoff.js';
export * from './bearer.js';
export * from './client-credentials.js';
export {
  type AuthorizationServerMetadata,
  type DiscoveryOptions,
  discover,
  wellKnownUrls,
} from './discovery.js';
export * from './errors.js';
export * from './middleware/express.js';
export * from './middleware/fastify.js';
export * from './pkce.js';
export * from './refresh.js';
export * from './token-cache.js';
export {
  type ClientAuthentication,
  clientSecretBasic,
  formUrlEncode,
  requestToken,
  type TokenEndpointConfig,
  type TokenRequestOptions,
} from './token-endpoint.js';
export type * from './types.js';
export * from './verifier.js';
export * from './www-authenticate.js';
