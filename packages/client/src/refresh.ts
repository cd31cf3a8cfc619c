/**
 * The refresh token grant (RFC 6749 §6) as a cached token source that persists rotated refresh tokens.
 *
 * @packageDocumentation
 */

import type { RetryOptions } from './backoff.js';
import { ClavisError } from './errors.js';
import { createTokenCache, type TokenCacheOptions } from './token-cache.js';
import {
  type ClientAuthentication,
  requestToken,
  type TokenEndpointConfig,
  tokenEndpointResolver,
} from './token-endpoint.js';
import type { ClientAuthMethod, FetchLike, TokenSet, TokenSource } from './types.js';

/**
 * Where the current refresh token lives (database row, encrypted file, secret manager, session). With refresh
 * token rotation every refresh returns a new refresh token and invalidates the old one, so `set` must persist it
 * durably before the new access token is used.
 *
 * @example
 * ```ts
 * import type { RefreshTokenStore } from '@clavis/client';
 *
 * const store: RefreshTokenStore = {
 *   get: async () => (await db.users.find(userId)).refreshToken ?? undefined,
 *   set: async (refreshToken) => db.users.update(userId, { refreshToken }),
 * };
 * ```
 */
export interface RefreshTokenStore {
  get(): Promise<string | undefined>;
  set(refreshToken: string): Promise<void>;
}

/**
 * An in-memory {@link RefreshTokenStore}, for tests and short-lived processes.
 *
 * @example
 * ```ts
 * import { memoryRefreshTokenStore } from '@clavis/client';
 *
 * const store = memoryRefreshTokenStore(tokens.refresh_token);
 * ```
 */
export function memoryRefreshTokenStore(initial?: string): RefreshTokenStore {
  let value = initial;
  return {
    async get() {
      return value;
    },
    async set(refreshToken) {
      value = refreshToken;
    },
  };
}

/**
 * Options of {@link refreshTokenSource}.
 *
 * @example
 * ```ts
 * const options: RefreshTokenSourceOptions = {
 *   issuer: 'https://auth.example.com',
 *   clientId: 'cli',
 *   store: memoryRefreshTokenStore(tokens.refresh_token),
 *   initialTokens: tokens,
 * };
 * const source = refreshTokenSource(options);
 * ```
 */
export type RefreshTokenSourceOptions = TokenEndpointConfig &
  TokenCacheOptions & {
    clientId: string;
    /** Omit for public clients (`client_id` is then sent in the body). */
    clientSecret?: string | undefined;
    /** Default `client_secret_basic`. */
    authMethod?: ClientAuthMethod | undefined;
    /** Holds the current refresh token; updated whenever the server rotates it. */
    store: RefreshTokenStore;
    /** Request a narrower scope than originally granted (RFC 6749 §6). */
    scope?: string | string[] | undefined;
    /** RFC 8707 `resource` parameter(s). */
    resource?: string | string[] | undefined;
    /** Tokens already obtained (e.g. from `handleCallback`), used until they near expiry. */
    initialTokens?: TokenSet | undefined;
    /** Custom `fetch`. Default: the platform `fetch`. */
    fetch?: FetchLike | undefined;
    /**
     * Retry policy. A refresh with a rotating refresh token is not idempotent, so only failures proving the server
     * did not process the request are retried (connection refused, 429, 503); replaying a consumed refresh token
     * would look like token theft and revoke the grant.
     */
    retry?: RetryOptions | undefined;
    /** Per-attempt timeout in milliseconds. Default 30 000. */
    timeoutMs?: number | undefined;
  };

/**
 * Creates a token source that obtains access tokens with the refresh token grant. Access tokens are cached until
 * shortly before expiry. Refreshes are single-flight, because with refresh token rotation two parallel refreshes
 * with the same refresh token are treated as replay and revoke the whole grant. A rotated refresh token is written
 * to `store` before the new access token is handed out.
 *
 * @throws {@link ClavisError} with code `ERR_NO_REFRESH_TOKEN` when the store is empty, {@link OAuthError} (typically
 *   `invalid_grant`) when the refresh token was revoked or expired: the user has to sign in again.
 *
 * @example
 * ```ts
 * import { authorizedFetch, refreshTokenSource } from '@clavis/client';
 *
 * const tokens = refreshTokenSource({
 *   issuer: 'https://auth.example.com',
 *   clientId: process.env.CLIENT_ID!,
 *   clientSecret: process.env.CLIENT_SECRET,
 *   store: {
 *     get: async () => db.getRefreshToken(userId),
 *     set: async (rt) => db.saveRefreshToken(userId, rt),
 *   },
 * });
 * const api = authorizedFetch(tokens);
 * const me = await (await api('https://api.example.com/me')).json();
 * ```
 */
export function refreshTokenSource(options: RefreshTokenSourceOptions): TokenSource {
  if (!options.clientId) throw new TypeError('clientId is required');
  if (!options.store || typeof options.store.get !== 'function' || typeof options.store.set !== 'function') {
    throw new TypeError('store with get() and set() is required');
  }

  const transport = { fetch: options.fetch, retry: options.retry, timeoutMs: options.timeoutMs };
  const endpoint = tokenEndpointResolver(options, transport);
  const client: ClientAuthentication = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authMethod: options.authMethod ?? 'client_secret_basic',
  };
  const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
  let initial = options.initialTokens;

  const source = createTokenCache(async () => {
    if (initial) {
      const tokens = initial;
      initial = undefined;
      const lifetimeMs = (tokens.expires_in ?? 0) * 1000;
      const margin = Math.min(60_000, lifetimeMs * 0.1);
      if (tokens.expiresAt === undefined || tokens.expiresAt - Date.now() > margin) return tokens;
    }
    const refreshToken = await options.store.get();
    if (!refreshToken) throw new ClavisError('No refresh token in store', 'ERR_NO_REFRESH_TOKEN');
    const tokens = await requestToken(
      await endpoint(),
      {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        scope: scope || undefined,
        resource: options.resource,
      },
      client,
      { ...transport, idempotent: false },
    );
    if (tokens.refresh_token && tokens.refresh_token !== refreshToken)
      await options.store.set(tokens.refresh_token);
    return tokens;
  }, options);

  return source;
}
