/**
 * Capped exponential backoff with full jitter, and the retry loop used for every request the SDK makes to the
 * authorization server.
 *
 * @packageDocumentation
 */

import { NetworkError } from './errors.js';

/**
 * Retry policy for requests to the authorization server.
 *
 * Delay before retry `n` (0-based) is a uniformly random value in `[0, min(maxDelayMs, baseDelayMs * 2^n)]`
 * ("full jitter"), so a fleet of clients that failed together does not retry together.
 *
 * @example
 * ```ts
 * const retry: RetryOptions = { retries: 5, baseDelayMs: 100, maxDelayMs: 2000 };
 * const tokens = clientCredentials({ issuer, clientId, clientSecret, retry });
 * ```
 */
export interface RetryOptions {
  /** How many times to retry after the first attempt. `0` disables retries. Default `3`. */
  retries?: number;
  /** Base delay in milliseconds. Default `200`. */
  baseDelayMs?: number;
  /** Upper bound for a single delay in milliseconds (also caps `Retry-After`). Default `5000`. */
  maxDelayMs?: number;
}

/**
 * The default retry policy: 3 retries, 200 ms base, 5 s cap.
 *
 * @example
 * ```ts
 * import { clientCredentials, DEFAULT_RETRY } from '@clavis/client';
 *
 * const tokens = clientCredentials({
 *   issuer: 'https://auth.example.com',
 *   clientId: 'svc',
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   retry: { ...DEFAULT_RETRY, retries: 5 },
 * });
 * ```
 */
export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = Object.freeze({
  retries: 3,
  baseDelayMs: 200,
  maxDelayMs: 5000,
});

/**
 * Delay in milliseconds before retry number `attempt` (0 for the first retry), with full jitter.
 *
 * @param attempt - 0-based retry number.
 * @param options - Retry policy; missing fields fall back to {@link DEFAULT_RETRY}.
 * @param random - Source of randomness in `[0, 1)`, injectable for tests.
 *
 * @example
 * ```ts
 * import { backoffDelay } from '@clavis/client';
 *
 * backoffDelay(0, { baseDelayMs: 100, maxDelayMs: 1000 }); // somewhere in [0, 100]
 * backoffDelay(5, { baseDelayMs: 100, maxDelayMs: 1000 }); // somewhere in [0, 1000] (capped)
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: RetryOptions = {},
  random: () => number = Math.random,
) {
  const { baseDelayMs, maxDelayMs } = resolveRetry(options);
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * Resolves a partial retry policy against {@link DEFAULT_RETRY}, clamping negative values to 0.
 *
 * @example
 * ```ts
 * import { resolveRetry } from '@clavis/client';
 *
 * resolveRetry({ retries: 1 }); // { retries: 1, baseDelayMs: 200, maxDelayMs: 5000 }
 * ```
 */
export function resolveRetry(options: RetryOptions = {}): Required<RetryOptions> {
  const pick = (value: number | undefined, fallback: number) =>
    typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : fallback;
  return {
    retries: Math.floor(pick(options.retries, DEFAULT_RETRY.retries)),
    baseDelayMs: pick(options.baseDelayMs, DEFAULT_RETRY.baseDelayMs),
    maxDelayMs: pick(options.maxDelayMs, DEFAULT_RETRY.maxDelayMs),
  };
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { sleep } from '@clavis/client';
 *
 * await sleep(250);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Network error codes meaning the request certainly never reached the server, so it is safe to send again. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Parses `Retry-After` (delta-seconds or HTTP-date) into milliseconds. */
function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Options of {@link fetchWithRetry}.
 *
 * @example
 * ```ts
 * const options: FetchWithRetryOptions = { retry: { retries: 2 }, idempotent: false, timeoutMs: 10_000 };
 * ```
 */
export interface FetchWithRetryOptions {
  /** Retry policy. */
  retry?: RetryOptions | undefined;
  /**
   * Whether repeating the request is harmless. Token requests that consume something (an authorization code, a
   * rotating refresh token) are not: for them only failures that prove the server did not process the request are
   * retried (connection refused / DNS errors, HTTP 429 and 503). Default `true`.
   */
  idempotent?: boolean | undefined;
  /** Per-attempt timeout in milliseconds (0 disables). Default 30 000. */
  timeoutMs?: number | undefined;
}

/**
 * Calls `send` until it yields a response that should not be retried. Retries network errors and HTTP 5xx/429 with
 * capped exponential backoff and full jitter (honouring `Retry-After`, capped at `maxDelayMs`). Never retries other
 * 4xx responses. Throws {@link NetworkError} when the last attempt failed at the network level; otherwise returns
 * the last response (which may be a 5xx if retries ran out; the caller turns it into an error).
 *
 * @param url - Used for error messages only.
 * @param send - Performs one attempt; receives an `AbortSignal` enforcing the per-attempt timeout.
 *
 * @example
 * ```ts
 * import { fetchWithRetry } from '@clavis/client';
 *
 * const url = 'https://auth.example.com/jwks';
 * const response = await fetchWithRetry(url, (signal) => fetch(url, { signal }), { retry: { retries: 2 } });
 * ```
 */
export async function fetchWithRetry(
  url: string,
  send: (signal: AbortSignal | undefined) => Promise<Response>,
  options: FetchWithRetryOptions = {},
): Promise<Response> {
  const policy = resolveRetry(options.retry);
  const idempotent = options.idempotent ?? true;
  const timeoutMs = options.timeoutMs ?? 30_000;

  for (let attempt = 0; ; attempt++) {
    const canRetry = attempt < policy.retries;
    let response: Response;
    try {
      response = await send(timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined);
    } catch (err) {
      if (canRetry && (idempotent || errorCode(err) !== undefined)) {
        await sleep(backoffDelay(attempt, policy));
        continue;
      }
      throw new NetworkError(url, attempt + 1, err);
    }

    const status = response.status;
    const retryable = idempotent ? status >= 500 || status === 429 : status === 503 || status === 429;
    if (!retryable || !canRetry) return response;

    const hinted = retryAfterMs(response);
    await response.body?.cancel().catch(() => undefined);
    await sleep(hinted === undefined ? backoffDelay(attempt, policy) : Math.min(hinted, policy.maxDelayMs));
  }
}
