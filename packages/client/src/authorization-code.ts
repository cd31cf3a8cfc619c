/**
 * The authorization code grant (RFC 6749 §4.1) with PKCE S256 (RFC 7636) and authorization response issuer
 * identification (RFC 9207).
 *
 * @packageDocumentation
 */

import type { RetryOptions } from './backoff.js';
import { type AuthorizationServerMetadata, cachedDiscovery, requireEndpoint } from './discovery.js';
import { AuthorizationResponseError, DiscoveryError, OAuthError } from './errors.js';
import { calculateCodeChallenge, generateCodeVerifier, generateState } from './pkce.js';
import { type ClientAuthentication, requestToken } from './token-endpoint.js';
import type { ClientAuthMethod, FetchLike, TokenSet } from './types.js';

/**
 * Options of {@link authorizationCode}.
 *
 * @example
 * ```ts
 * const options: AuthorizationCodeOptions = {
 *   issuer: 'https://auth.example.com',
 *   clientId: 'web-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   redirectUri: 'https://app.example.com/callback',
 *   scope: ['orders:read', 'offline_access'],
 * };
 * const oauth = authorizationCode(options);
 * ```
 */
export interface AuthorizationCodeOptions {
  /** Issuer identifier of the authorization server; endpoints are discovered from its metadata. */
  issuer: string;
  clientId: string;
  /** Omit for public clients (SPAs, native apps, CLIs): `client_id` is then sent in the token request body. */
  clientSecret?: string | undefined;
  /** Default `client_secret_basic`. */
  authMethod?: ClientAuthMethod | undefined;
  /** Must exactly match the redirect URI registered for the client. */
  redirectUri: string;
  /** Scopes to request; an array is joined with spaces. */
  scope: string | string[];
  /** Target API(s), sent as RFC 8707 `resource` parameter(s) in the authorization and token requests. */
  resource?: string | string[] | undefined;
  /** Custom `fetch`. Default: the platform `fetch`. */
  fetch?: FetchLike | undefined;
  /**
   * Retry policy. The code exchange is not idempotent (a code is single-use), so only failures proving the server
   * did not process the request are retried (connection refused, 429, 503).
   */
  retry?: RetryOptions | undefined;
  /** Per-attempt timeout in milliseconds. Default 30 000. */
  timeoutMs?: number | undefined;
}

/**
 * What {@link AuthorizationCodeClient.createAuthorizationRequest} returns.
 *
 * @example
 * ```ts
 * const { url, state, codeVerifier }: AuthorizationRequest = await oauth.createAuthorizationRequest();
 * req.session.oauth = { state, codeVerifier };
 * res.redirect(url.href);
 * ```
 */
export interface AuthorizationRequest {
  /** Send the user agent here (HTTP 302/303 or a link). */
  url: URL;
  /** Store server-side (e.g. in the session) and pass to `handleCallback`. */
  state: string;
  /** Keep secret; store server-side (e.g. in the session) and pass to `handleCallback`. */
  codeVerifier: string;
}

/**
 * The values stored when the authorization request was created.
 *
 * @example
 * ```ts
 * const checks: CallbackChecks = req.session.oauth; // saved by /login
 * const tokens = await oauth.handleCallback(req.url, checks);
 * ```
 */
export interface CallbackChecks {
  state: string;
  codeVerifier: string;
}

/**
 * The client returned by {@link authorizationCode}.
 *
 * @example
 * ```ts
 * const oauth: AuthorizationCodeClient = authorizationCode({ issuer, clientId, redirectUri, scope: 'read' });
 * const { url } = await oauth.createAuthorizationRequest({ prompt: 'login' });
 * ```
 */
export interface AuthorizationCodeClient {
  /**
   * Builds the authorization URL with fresh `state` and PKCE S256 `code_challenge`.
   *
   * @param extraParams - Additional authorization request parameters (e.g. `prompt`, `login_hint`).
   */
  createAuthorizationRequest(extraParams?: Record<string, string>): Promise<AuthorizationRequest>;
  /**
   * Validates the redirect back to `redirectUri` and exchanges the code for tokens.
   *
   * @param callback - The full callback URL (absolute, or the request path such as `req.url`), or its query.
   */
  handleCallback(callback: string | URL | URLSearchParams, checks: CallbackChecks): Promise<TokenSet>;
  /** The discovered authorization server metadata (cached). */
  metadata(): Promise<AuthorizationServerMetadata>;
}

function callbackParams(callback: string | URL | URLSearchParams): URLSearchParams {
  if (callback instanceof URLSearchParams) return callback;
  if (callback instanceof URL) return callback.searchParams;
  return new URL(callback, 'http://callback.invalid').searchParams;
}

/**
 * Creates an authorization code grant client (PKCE S256 always, RFC 9207 `iss` checking).
 *
 * `handleCallback` rejects, in this order: an `iss` parameter differing from the issuer, a missing `iss` when the
 * server advertises `authorization_response_iss_parameter_supported`, a `state` mismatch (all as
 * {@link AuthorizationResponseError}), an `error` reported by the server (as {@link OAuthError}), and a missing
 * `code`. Then it exchanges the code using `client_secret_basic` (or `client_secret_post`) when a secret is
 * configured, otherwise as a public client with `client_id` in the body.
 *
 * @example
 * ```ts
 * import { authorizationCode } from '@clavis/client';
 *
 * const oauth = authorizationCode({
 *   issuer: 'https://auth.example.com',
 *   clientId: process.env.CLIENT_ID!,
 *   clientSecret: process.env.CLIENT_SECRET,
 *   redirectUri: 'https://app.example.com/callback',
 *   scope: 'openid profile orders:read',
 * });
 *
 * // GET /login
 * const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
 * session.oauth = { state, codeVerifier };
 * res.redirect(url.href);
 *
 * // GET /callback
 * const tokens = await oauth.handleCallback(req.url, session.oauth);
 * await refreshTokenStore.set(tokens.refresh_token!);
 * ```
 */
export function authorizationCode(options: AuthorizationCodeOptions): AuthorizationCodeClient {
  if (!options.issuer) throw new TypeError('issuer is required');
  if (!options.clientId) throw new TypeError('clientId is required');
  if (!options.redirectUri) throw new TypeError('redirectUri is required');

  const transport = { fetch: options.fetch, retry: options.retry, timeoutMs: options.timeoutMs };
  const metadata = cachedDiscovery(options.issuer, transport);
  const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
  const client: ClientAuthentication = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authMethod: options.authMethod ?? 'client_secret_basic',
  };

  return {
    metadata,

    async createAuthorizationRequest(extraParams = {}) {
      const as = await metadata();
      const endpoint = requireEndpoint(as, 'authorization_endpoint');
      const methods = as.code_challenge_methods_supported;
      if (Array.isArray(methods) && !methods.includes('S256')) {
        throw new DiscoveryError(`Authorization server ${as.issuer} does not support PKCE S256`);
      }

      const state = generateState();
      const codeVerifier = generateCodeVerifier();
      const url = new URL(endpoint);
      for (const [name, value] of Object.entries(extraParams)) url.searchParams.set(name, value);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', options.clientId);
      url.searchParams.set('redirect_uri', options.redirectUri);
      if (scope) url.searchParams.set('scope', scope);
      url.searchParams.delete('resource');
      const resources = options.resource === undefined ? [] : [options.resource].flat();
      for (const resource of resources) url.searchParams.append('resource', resource);
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', await calculateCodeChallenge(codeVerifier));
      url.searchParams.set('code_challenge_method', 'S256');
      return { url, state, codeVerifier };
    },

    async handleCallback(callback, checks) {
      if (!checks?.state || !checks.codeVerifier) {
        throw new TypeError(
          'handleCallback requires the state and codeVerifier from createAuthorizationRequest',
        );
      }
      const params = callbackParams(callback);
      const as = await metadata();

      const iss = params.get('iss');
      if (iss !== null && iss !== as.issuer) {
        throw new AuthorizationResponseError(
          'iss_mismatch',
          `Authorization response iss ${JSON.stringify(iss)} does not match issuer ${JSON.stringify(as.issuer)} (RFC 9207)`,
        );
      }
      if (iss === null && as.authorization_response_iss_parameter_supported === true) {
        throw new AuthorizationResponseError(
          'iss_missing',
          'Authorization response lacks the iss parameter the server advertises (RFC 9207)',
        );
      }
      if (params.get('state') !== checks.state) {
        throw new AuthorizationResponseError('state_mismatch', 'Authorization response state does not match');
      }
      const error = params.get('error');
      if (error !== null) {
        throw new OAuthError({
          error,
          error_description: params.get('error_description') ?? undefined,
          error_uri: params.get('error_uri') ?? undefined,
        });
      }
      const code = params.get('code');
      if (!code) throw new AuthorizationResponseError('code_missing', 'Authorization response has no code');

      return requestToken(
        requireEndpoint(as, 'token_endpoint'),
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: options.redirectUri,
          code_verifier: checks.codeVerifier,
          resource: options.resource,
        },
        client,
        { ...transport, idempotent: false },
      );
    },
  };
}
