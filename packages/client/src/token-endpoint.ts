/**
 * Token endpoint requests (RFC 6749 §3.2): client authentication, form encoding, retries and response parsing.
 *
 * @packageDocumentation
 */

import { fetchWithRetry, type RetryOptions } from './backoff.js';
import { cachedDiscovery, type DiscoveryOptions, requireEndpoint } from './discovery.js';
import { OAuthError, UnexpectedResponseError } from './errors.js';
import type { ClientAuthMethod, FetchLike, TokenEndpointResponse, TokenSet } from './types.js';

/**
 * Where to send token requests: either an `issuer` (the token endpoint is discovered, RFC 8414) or an explicit
 * `tokenEndpoint` (no discovery; use this for servers without metadata). If both are given, `tokenEndpoint` wins.
 *
 * @example
 * ```ts
 * const viaDiscovery: TokenEndpointConfig = { issuer: 'https://auth.example.com' };
 * const direct: TokenEndpointConfig = { tokenEndpoint: 'https://auth.example.com/oauth/token' };
 * ```
 */
export type TokenEndpointConfig =
  | { issuer: string; tokenEndpoint?: string | undefined }
  | { issuer?: string | undefined; tokenEndpoint: string };

/**
 * How the client authenticates at the token endpoint.
 *
 * @example
 * ```ts
 * const confidential: ClientAuthentication = { clientId: 'svc', clientSecret: 's3cr3t', authMethod: 'client_secret_basic' };
 * const publicClient: ClientAuthentication = { clientId: 'spa' };
 * ```
 */
export interface ClientAuthentication {
  clientId: string;
  /** Omit for public clients: `client_id` is then sent in the body (RFC 6749 §2.3 / §3.2.1). */
  clientSecret?: string | undefined;
  /** Default `client_secret_basic`. Ignored without a secret. */
  authMethod?: ClientAuthMethod | undefined;
}

/**
 * `application/x-www-form-urlencoded` encoding of one value, as RFC 6749 §2.3.1 requires for the client id and
 * secret before they are joined for HTTP Basic (space becomes `+`, every other reserved character `%XX`).
 *
 * @example
 * ```ts
 * import { formUrlEncode } from '@clavis/client';
 *
 * formUrlEncode('my secret:+/'); // 'my+secret%3A%2B%2F'
 * ```
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * The `Authorization` header value for `client_secret_basic`:
 * `Basic base64(formUrlEncode(clientId) + ':' + formUrlEncode(clientSecret))` (RFC 6749 §2.3.1).
 *
 * @example
 * ```ts
 * import { clientSecretBasic } from '@clavis/client';
 *
 * const headers = { authorization: clientSecretBasic('my-app', 's3cr3t') };
 * ```
 */
export function clientSecretBasic(clientId: string, clientSecret: string): string {
  const credentials = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  const bytes = new TextEncoder().encode(credentials);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/**
 * Resolves the token endpoint once (explicit URL, or discovery via the issuer) and caches the result.
 *
 * @internal
 */
export function tokenEndpointResolver(
  config: TokenEndpointConfig,
  options: DiscoveryOptions,
): () => Promise<string> {
  if (config.tokenEndpoint) {
    const endpoint = config.tokenEndpoint;
    // A mistyped URL is the caller's error, said at once, not a network failure retried on every call.
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))
      // Not echoed: a mistyped URL may hold credentials.
      throw new TypeError('tokenEndpoint must be an absolute http(s) URL');
    return async () => endpoint;
  }
  if (!config.issuer) throw new TypeError('Either issuer or tokenEndpoint is required');
  const metadata = cachedDiscovery(config.issuer, options);
  return async () => requireEndpoint(await metadata(), 'token_endpoint');
}

/**
 * Options of {@link requestToken}.
 *
 * @example
 * ```ts
 * await requestToken(endpoint, params, client, { retry: { retries: 0 }, idempotent: false, timeoutMs: 5000 });
 * ```
 */
export interface TokenRequestOptions {
  fetch?: FetchLike | undefined;
  retry?: RetryOptions | undefined;
  /** See {@link FetchWithRetryOptions.idempotent}. Default `true`. */
  idempotent?: boolean | undefined;
  timeoutMs?: number | undefined;
}

/**
 * Sends one token request (with retries) and returns the parsed, validated response.
 *
 * @param endpoint - Token endpoint URL.
 * @param parameters - Grant parameters, e.g. `{ grant_type: 'client_credentials', scope: 'read' }`; array values
 *   are sent as repeated parameters (e.g. several `resource`s).
 * @param client - Client credentials.
 *
 * @throws {@link OAuthError} for RFC 6749 error responses (never retried), {@link UnexpectedResponseError} for
 *   other failures, {@link NetworkError} when the server is unreachable.
 *
 * @example
 * ```ts
 * import { requestToken } from '@clavis/client';
 *
 * const tokens = await requestToken(
 *   'https://auth.example.com/token',
 *   { grant_type: 'client_credentials', scope: 'read' },
 *   { clientId: 'svc', clientSecret: process.env.CLIENT_SECRET },
 * );
 * ```
 */
export async function requestToken(
  endpoint: string,
  parameters: Record<string, string | string[] | undefined>,
  client: ClientAuthentication,
  options: TokenRequestOptions = {},
): Promise<TokenSet> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  }

  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (client.clientSecret === undefined) {
    body.set('client_id', client.clientId);
  } else if (client.authMethod === 'client_secret_post') {
    body.set('client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  } else {
    headers.authorization = clientSecretBasic(client.clientId, client.clientSecret);
  }

  const fetchImpl = options.fetch ?? fetch;
  const payload = body.toString();
  const sentAt = Date.now();
  const response = await fetchWithRetry(
    endpoint,
    (signal) =>
      fetchImpl(endpoint, {
        method: 'POST',
        headers,
        body: payload,
        redirect: 'manual',
        ...(signal ? { signal } : {}),
      }),
    { retry: options.retry, idempotent: options.idempotent, timeoutMs: options.timeoutMs },
  );

  if (response.status !== 200) throw await errorFromResponse(response, endpoint);
  return parseTokenResponse(response, endpoint, sentAt);
}

async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

/**
 * Turns a non-200 token endpoint response into an {@link OAuthError} (JSON body with a string `error`, or a
 * `WWW-Authenticate` challenge carrying `error=`) or else an {@link UnexpectedResponseError}.
 *
 * @internal
 */
export async function errorFromResponse(response: Response, url: string): Promise<Error> {
  const text = await readText(response);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json && typeof json === 'object' && typeof (json as { error?: unknown }).error === 'string') {
    const { error, error_description, error_uri } = json as Record<string, unknown>;
    return new OAuthError(
      {
        error: error as string,
        error_description: typeof error_description === 'string' ? error_description : undefined,
        error_uri: typeof error_uri === 'string' ? error_uri : undefined,
      },
      response.status,
    );
  }
  const challenge = response.headers.get('www-authenticate');
  const fromHeader = challenge?.match(/\berror="?([\x21\x23-\x5B\x5D-\x7E]+)"?/);
  if (fromHeader?.[1]) {
    const description = challenge?.match(/\berror_description="((?:[^"\\]|\\.)*)"/);
    return new OAuthError({ error: fromHeader[1], error_description: description?.[1] }, response.status);
  }
  return new UnexpectedResponseError(
    `${url} answered HTTP ${response.status} without an OAuth error body`,
    response.status,
    text.slice(0, 1024),
  );
}

async function parseTokenResponse(response: Response, url: string, sentAt: number): Promise<TokenSet> {
  const text = await readText(response);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UnexpectedResponseError(
      `${url} returned a non-JSON token response`,
      response.status,
      text.slice(0, 1024),
      {
        cause: err,
      },
    );
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new UnexpectedResponseError(
      `${url} returned a token response that is not a JSON object`,
      response.status,
    );
  }
  const body = json as Record<string, unknown>;
  const fail = (what: string) =>
    new UnexpectedResponseError(`Token response from ${url} ${what}`, response.status, undefined);

  if (typeof body.access_token !== 'string' || body.access_token.length === 0)
    throw fail('has no access_token');
  if (typeof body.token_type !== 'string') throw fail('has no token_type');
  if (body.token_type.toLowerCase() !== 'bearer') {
    throw fail(`has token_type "${body.token_type}"; only Bearer tokens are supported`);
  }

  let expiresIn: number | undefined;
  if (body.expires_in !== undefined && body.expires_in !== null) {
    // Some servers send the number as a string; an empty or non-numeric one is not a lifetime (Number('') is 0).
    expiresIn =
      typeof body.expires_in === 'string'
        ? /^\s*\d+(?:\.\d+)?\s*$/.test(body.expires_in)
          ? Number(body.expires_in)
          : Number.NaN
        : (body.expires_in as number);
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) {
      throw fail('has an invalid expires_in');
    }
  }
  for (const member of ['refresh_token', 'scope', 'id_token']) {
    if (body[member] !== undefined && typeof body[member] !== 'string')
      throw fail(`has a non-string ${member}`);
  }

  const tokens = { ...body } as TokenEndpointResponse as TokenSet;
  if (expiresIn !== undefined) {
    tokens.expires_in = expiresIn;
    tokens.expiresAt = sentAt + expiresIn * 1000;
  }
  return tokens;
}
