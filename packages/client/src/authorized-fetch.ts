/**
 * A `fetch` wrapper that sends `Authorization: Bearer <token>` and recovers once from an expired or revoked token.
 *
 * @packageDocumentation
 */

import type { FetchLike, TokenSource } from './types.js';
import { findChallenge } from './www-authenticate.js';

/**
 * Options of {@link authorizedFetch}.
 *
 * @example
 * ```ts
 * const api = authorizedFetch(tokens, {
 *   headers: { 'x-api-key': process.env.API_KEY!, 'user-agent': 'billing-worker/1.0' },
 * } satisfies AuthorizedFetchOptions);
 * ```
 */
export interface AuthorizedFetchOptions {
  /**
   * Headers added to every request (e.g. an `x-api-key`). Per-request headers override them; `Authorization` is
   * always set by this wrapper.
   */
  headers?: ConstructorParameters<typeof Headers>[0] | undefined;
  /** Custom `fetch`. Default: the platform `fetch`. */
  fetch?: FetchLike | undefined;
}

function isRequest(input: unknown): input is Request {
  return (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof URL) &&
    typeof (input as Request).url === 'string' &&
    typeof (input as Request).headers === 'object'
  );
}

/** Bodies that can be sent again unchanged. Streams (and async iterables) can be read only once. */
function isReplayable(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData) return true;
  return false;
}

/**
 * Wraps `fetch` so every request carries `Authorization: Bearer <token>` from `tokens`, plus default headers.
 *
 * When the API answers 401 with a Bearer challenge carrying `error="invalid_token"` (RFC 6750 §3.1: the token
 * expired, was revoked or is otherwise invalid), the cached token is invalidated and the request is sent once more
 * with a fresh token. Only requests whose body can be replayed are retried: no body, strings, `Uint8Array`/
 * `ArrayBuffer`, `URLSearchParams`, `Blob`, `FormData`. Requests with a `ReadableStream` body, or a `Request` object
 * with a body, get the 401 response back unchanged.
 *
 * @example
 * ```ts
 * import { authorizedFetch, clientCredentials } from '@clavis/client';
 *
 * const tokens = clientCredentials({ issuer: 'https://auth.example.com', clientId, clientSecret });
 * const api = authorizedFetch(tokens, { headers: { 'x-api-key': process.env.API_KEY! } });
 *
 * const res = await api('https://api.example.com/orders', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ sku: 'A-1' }),
 * });
 * ```
 */
export function authorizedFetch(
  tokens: Pick<TokenSource, 'getToken' | 'invalidate'>,
  options: AuthorizedFetchOptions = {},
): FetchLike {
  const fetchImpl = options.fetch ?? fetch;
  const defaults = new Headers(options.headers);

  return async (input, init) => {
    const send = async (token: string) => {
      const headers = new Headers(defaults);
      const own =
        init?.headers !== undefined
          ? new Headers(init.headers)
          : isRequest(input)
            ? input.headers
            : undefined;
      own?.forEach((value, name) => {
        headers.set(name, value);
      });
      headers.set('authorization', `Bearer ${token}`);
      return fetchImpl(input, { ...init, headers });
    };

    const token = await tokens.getToken();
    const response = await send(token);
    if (response.status !== 401) return response;
    if (findChallenge(response.headers, 'Bearer')?.params.error !== 'invalid_token') return response;

    const requestBody = isRequest(input) && init?.body === undefined ? input.body : undefined;
    if (!isReplayable(init?.body) || requestBody) return response;

    await response.body?.cancel().catch(() => undefined);
    tokens.invalidate(token);
    return send(await tokens.getToken());
  };
}
