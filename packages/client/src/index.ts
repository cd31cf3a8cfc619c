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

// The public API, by name: what is not listed here (retry timing, the token endpoint's internals, cached
// discovery) may change without notice. The middleware also has subpaths, `@clavis/client/express` and
// `@clavis/client/fastify`.
export {
  type AuthorizationCodeClient,
  type AuthorizationCodeOptions,
  type AuthorizationRequest,
  authorizationCode,
  type CallbackChecks,
} from './authorization-code.js';
export { type AuthorizedFetchOptions, authorizedFetch } from './authorized-fetch.js';
export type { RetryOptions } from './backoff.js';
export {
  authenticateBearer,
  type BearerAuthOptions,
  type BearerAuthResult,
  extractBearerToken,
} from './bearer.js';
export { type ClientCredentialsOptions, clientCredentials } from './client-credentials.js';
export {
  type AuthorizationServerMetadata,
  type DiscoveryOptions,
  discover,
  wellKnownUrls,
} from './discovery.js';
export {
  AuthorizationResponseError,
  type AuthorizationResponseErrorReason,
  BearerTokenError,
  ClavisError,
  DiscoveryError,
  InsufficientScopeError,
  InvalidTokenError,
  JwksUnavailableError,
  NetworkError,
  OAuthError,
  type OAuthErrorFields,
  UnexpectedResponseError,
} from './errors.js';
export {
  type ExpressBearerMiddleware,
  expressBearerAuth,
  type NodeRequestLike,
  type NodeResponseLike,
} from './middleware/express.js';
export {
  type FastifyBearerHook,
  type FastifyReplyLike,
  type FastifyRequestLike,
  fastifyBearerAuth,
} from './middleware/fastify.js';
export { calculateCodeChallenge, generateCodeVerifier, generateState } from './pkce.js';
export {
  memoryRefreshTokenStore,
  type RefreshTokenSourceOptions,
  type RefreshTokenStore,
  refreshTokenSource,
} from './refresh.js';
export { createTokenCache, type TokenCacheOptions } from './token-cache.js';
export {
  type ClientAuthentication,
  clientSecretBasic,
  formUrlEncode,
  requestToken,
  type TokenEndpointConfig,
  type TokenRequestOptions,
} from './token-endpoint.js';
export type {
  ClientAuthMethod,
  FetchLike,
  TokenEndpointResponse,
  TokenSet,
  TokenSource,
} from './types.js';
export {
  type AccessTokenClaims,
  type AccessTokenRules,
  accessTokenClaimsPass,
  accessTokenVerifyOptions,
  createVerifier,
  DEFAULT_ALGORITHMS,
  grantedScopes,
  type Verifier,
  type VerifierOptions,
  type VerifyOptions,
} from './verifier.js';
export {
  type BearerChallengeParams,
  bearerChallenge,
  type Challenge,
  findChallenge,
  parseWwwAuthenticate,
} from './www-authenticate.js';
