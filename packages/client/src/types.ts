/**
 * Types shared by several modules.
 *
 * @packageDocumentation
 */

/**
 * A `fetch`-compatible function. The platform `fetch` satisfies it; inject your own (proxy agent, instrumentation,
 * test double) through the `fetch` option of every factory.
 *
 * @example
 * ```ts
 * import type { FetchLike } from '@clavis/client';
 *
 * const loggingFetch: FetchLike = async (input, init) => {
 *   const res = await fetch(input, init);
 *   console.log(init?.method ?? 'GET', String(input instanceof Request ? input.url : input), res.status);
 *   return res;
 * };
 * ```
 */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A successful token endpoint response (RFC 6749 §5.1). Unknown members are preserved.
 *
 * @example
 * ```ts
 * import type { TokenEndpointResponse } from '@clavis/client';
 *
 * const body: TokenEndpointResponse = { access_token: 'eyJ...', token_type: 'Bearer', expires_in: 3600 };
 * ```
 */
export interface TokenEndpointResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  [parameter: string]: unknown;
}

/**
 * A token endpoint response plus `expiresAt`: the local-clock time (milliseconds since the epoch) at which the
 * access token expires, computed from `expires_in` and the moment the request was sent.
 *
 * @example
 * ```ts
 * import type { TokenSet } from '@clavis/client';
 *
 * function secondsLeft(tokens: TokenSet) {
 *   return tokens.expiresAt === undefined ? Infinity : (tokens.expiresAt - Date.now()) / 1000;
 * }
 * ```
 */
export interface TokenSet extends TokenEndpointResponse {
  expiresAt?: number;
}

/**
 * Something that hands out valid access tokens: {@link clientCredentials} and {@link refreshTokenSource} return one,
 * {@link authorizedFetch} consumes one.
 *
 * @example
 * ```ts
 * import type { TokenSource } from '@clavis/client';
 *
 * // A fixed token, e.g. for local development.
 * const staticSource: TokenSource = {
 *   getToken: async () => process.env.DEV_TOKEN!,
 *   getTokenResponse: async () => ({ access_token: process.env.DEV_TOKEN!, token_type: 'Bearer' }),
 *   invalidate: () => {},
 * };
 * ```
 */
export interface TokenSource {
  /** Returns a cached access token, or obtains a new one if there is none or it is about to expire. */
  getToken(): Promise<string>;
  /** Like {@link TokenSource.getToken} but returns the whole token response. */
  getTokenResponse(): Promise<TokenSet>;
  /**
   * Drops the cached token so the next `getToken()` fetches a new one. If `accessToken` is given, the cache is only
   * dropped when it still holds that token, so many requests failing with the same stale token cause one refresh.
   */
  invalidate(accessToken?: string): void;
}

/**
 * Client authentication methods for confidential clients (RFC 6749 §2.3.1).
 *
 * @example
 * ```ts
 * const method: ClientAuthMethod = 'client_secret_post';
 * const tokens = clientCredentials({ issuer, clientId, clientSecret, authMethod: method });
 * ```
 */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';
