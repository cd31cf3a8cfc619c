/**
 * The client credentials grant (RFC 6749 §4.4) as a cached, self-refreshing token source.
 *
 * @packageDocumentation
 */

import type { RetryOptions } from './backoff.js';
import { createTokenCache, type TokenCacheOptions } from './token-cache.js';
import {
  type ClientAuthentication,
  requestToken,
  type TokenEndpointConfig,
  tokenEndpointResolver,
} from './token-endpoint.js';
import type { ClientAuthMethod, FetchLike, TokenSource } from './types.js';

/**
 * Options of {@link clientCredentials}.
 *
 * @example
 * ```ts
 * const options: ClientCredentialsOptions = {
 *   tokenEndpoint: 'https://auth.example.com/oauth/token',
 *   clientId: 'svc',
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   authMethod: 'client_secret_post',
 *   refreshSkewSeconds: 30,
 * };
 * const tokens = clientCredentials(options);
 * ```
 */
export type ClientCredentialsOptions = TokenEndpointConfig &
  TokenCacheOptions & {
    clientId: string;
    clientSecret: string;
    /** Scopes to request; an array is joined with spaces. Default: none (server default). */
    scope?: string | string[] | undefined;
    /** Target API(s), sent as RFC 8707 `resource` parameter(s). */
    audience?: string | string[] | undefined;
    /** Default `client_secret_basic` (RFC 6749 §2.3.1). */
    authMethod?: ClientAuthMethod | undefined;
    /** Extra token request parameters. */
    extraParams?: Record<string, string> | undefined;
    /** Custom `fetch`. Default: the platform `fetch`. */
    fetch?: FetchLike | undefined;
    /** Retry policy for network errors and 5xx/429. 4xx OAuth errors are never retried. */
    retry?: RetryOptions | undefined;
    /** Per-attempt timeout in milliseconds. Default 30 000. */
    timeoutMs?: number | undefined;
  };

/**
 * Creates a token source for the client credentials grant. Tokens are cached and renewed shortly before they
 * expire; concurrent `getToken()` calls share one token request; network errors and 5xx are retried with capped
 * exponential backoff and full jitter; OAuth errors such as `invalid_client` fail immediately with an
 * {@link OAuthError}.
 *
 * This replaces hand-written "POST grant_type=client_credentials on every call" code: call `getToken()` as often as
 * you like (or use {@link authorizedFetch}), it only hits the server when needed.
 *
 * @example
 * ```ts
 * import { clientCredentials } from '@clavis/client';
 *
 * const tokens = clientCredentials({
 *   issuer: 'https://auth.example.com',
 *   clientId: process.env.CLIENT_ID!,
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   scope: 'orders:read',
 *   audience: 'https://api.example.com',
 * });
 *
 * const res = await fetch('https://api.example.com/orders', {
 *   headers: { authorization: `Bearer ${await tokens.getToken()}` },
 * });
 * ```
 *
 * @example Without discovery (only the token endpoint URL is known)
 * ```ts
 * const tokens = clientCredentials({
 *   tokenEndpoint: 'https://auth.example.com/oauth/token',
 *   clientId: 'MY_CLIENT_ID',
 *   clientSecret: 'MY_CLIENT_SECRET',
 * });
 * ```
 */
export function clientCredentials(options: ClientCredentialsOptions): TokenSource {
  if (!options.clientId) throw new TypeError('clientId is required');
  if (typeof options.clientSecret !== 'string') throw new TypeError('clientSecret is required');

  const transport = { fetch: options.fetch, retry: options.retry, timeoutMs: options.timeoutMs };
  const endpoint = tokenEndpointResolver(options, transport);
  const client: ClientAuthentication = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authMethod: options.authMethod ?? 'client_secret_basic',
  };
  const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;

  return createTokenCache(
    async () =>
      requestToken(
        await endpoint(),
        {
          ...options.extraParams,
          grant_type: 'client_credentials',
          scope: scope || undefined,
          resource: options.audience,
        },
        client,
        { ...transport, idempotent: true },
      ),
    options,
  );
}
