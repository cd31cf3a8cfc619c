/**
 * Access token caching with proactive, single-flight refresh. Shared by the client credentials and refresh token
 * sources.
 *
 * @packageDocumentation
 */

import type { TokenSet, TokenSource } from './types.js';

/**
 * Caching options shared by the token sources.
 *
 * @example
 * ```ts
 * const tokens = clientCredentials({ issuer, clientId, clientSecret, refreshSkewSeconds: 120, defaultExpiresInSeconds: 600 });
 * ```
 */
export interface TokenCacheOptions {
  /**
   * Stop handing out a token this many seconds (plus 1 s for servers that round `exp` down to whole seconds) before
   * it expires; a background refresh starts another `refreshSkewSeconds` earlier. Default: 60 s or 10% of the token
   * lifetime, whichever is smaller. A token is always used for at least half its lifetime.
   */
  refreshSkewSeconds?: number | undefined;
  /**
   * Lifetime assumed when the server omits `expires_in` (it is only RECOMMENDED by RFC 6749). Default 300 s.
   * `authorizedFetch` additionally recovers from early expiry via the 401 `invalid_token` retry.
   */
  defaultExpiresInSeconds?: number | undefined;
}

interface CachedEntry {
  tokens: TokenSet;
  /** From here on callers wait for a new token. */
  hardRefreshAt: number;
  /** From here on a background refresh starts while callers still get the cached token. */
  softRefreshAt: number;
}

/**
 * Wraps a function that obtains tokens into a {@link TokenSource} that
 * - caches the token until `skew + 1 s` before expiry, so callers never receive a token about to expire;
 * - refreshes in the background during the `skew`-wide window before that while still serving the cached token,
 *   so callers rarely wait;
 * - coalesces concurrent refreshes: any number of concurrent `getToken()` calls trigger one `obtain()`.
 *
 * @example
 * ```ts
 * import { createTokenCache, requestToken } from '@clavis/client';
 *
 * const source = createTokenCache(() =>
 *   requestToken('https://auth.example.com/token', { grant_type: 'client_credentials' }, { clientId, clientSecret }),
 * );
 * const token = await source.getToken();
 * ```
 */
export function createTokenCache(
  obtain: () => Promise<TokenSet>,
  options: TokenCacheOptions = {},
): TokenSource {
  let entry: CachedEntry | undefined;
  let inflight: Promise<TokenSet> | undefined;
  let backgroundPausedUntil = 0;

  const defaultLifetimeMs = (options.defaultExpiresInSeconds ?? 300) * 1000;

  const toEntry = (tokens: TokenSet, obtainedAt: number): CachedEntry => {
    const expiresAt = tokens.expiresAt ?? obtainedAt + defaultLifetimeMs;
    const lifetime = Math.max(0, expiresAt - obtainedAt);
    const skew =
      options.refreshSkewSeconds === undefined
        ? Math.min(60_000, lifetime * 0.1)
        : Math.max(0, options.refreshSkewSeconds * 1000);
    // +1 s absorbs servers that compute `exp` from a whole-second `iat` (the token may really expire up to 1 s
    // before `expires_in` says); never wait past half the lifetime for the hard refresh.
    const hardSkew = Math.min(skew + 1000, lifetime / 2);
    const softSkew = Math.min(hardSkew + skew, lifetime * 0.75);
    return { tokens, hardRefreshAt: expiresAt - hardSkew, softRefreshAt: expiresAt - softSkew };
  };

  const refresh = (): Promise<TokenSet> => {
    if (!inflight) {
      const startedAt = Date.now();
      const attempt = Promise.resolve()
        .then(obtain)
        .then((tokens) => {
          entry = toEntry(tokens, startedAt);
          return tokens;
        });
      inflight = attempt;
      attempt.then(
        () => {
          if (inflight === attempt) inflight = undefined;
        },
        () => {
          if (inflight === attempt) inflight = undefined;
        },
      );
    }
    return inflight;
  };

  const getTokenResponse = async (): Promise<TokenSet> => {
    const now = Date.now();
    if (entry && now < entry.hardRefreshAt) {
      if (now >= entry.softRefreshAt && !inflight && now >= backgroundPausedUntil) {
        refresh().catch(() => {
          // The cached token is still valid; try again a little later rather than on every call.
          backgroundPausedUntil = Date.now() + 1000;
        });
      }
      return entry.tokens;
    }
    return refresh();
  };

  return {
    getTokenResponse,
    async getToken() {
      return (await getTokenResponse()).access_token;
    },
    invalidate(accessToken?: string) {
      if (accessToken === undefined || entry?.tokens.access_token === accessToken) entry = undefined;
    },
  };
}
