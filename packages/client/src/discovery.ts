/**
 * Authorization server metadata discovery (RFC 8414, with OpenID Connect Discovery as a fallback).
 *
 * @packageDocumentation
 */

import { fetchWithRetry, type RetryOptions } from './backoff.js';
import { DiscoveryError } from './errors.js';
import type { FetchLike } from './types.js';

/**
 * Authorization server metadata (RFC 8414 §2). Only the members this SDK reads are typed; everything else the
 * server publishes is preserved.
 *
 * @example
 * ```ts
 * import { discover, type AuthorizationServerMetadata } from '@clavis/client';
 *
 * const metadata: AuthorizationServerMetadata = await discover('https://auth.example.com');
 * console.log(metadata.token_endpoint);
 * ```
 */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  jwks_uri?: string;
  scopes_supported?: string[];
  response_types_supported?: string[];
  grant_types_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  code_challenge_methods_supported?: string[];
  revocation_endpoint?: string;
  introspection_endpoint?: string;
  /** RFC 9207: when `true`, authorization responses always carry `iss` and clients must require it. */
  authorization_response_iss_parameter_supported?: boolean;
  [member: string]: unknown;
}

/**
 * Options of {@link discover}.
 *
 * @example
 * ```ts
 * const metadata = await discover('https://auth.example.com', { retry: { retries: 1 }, timeoutMs: 5000 });
 * ```
 */
export interface DiscoveryOptions {
  /** Custom `fetch`. Default: the platform `fetch`. */
  fetch?: FetchLike | undefined;
  /** Retry policy for network errors and 5xx. */
  retry?: RetryOptions | undefined;
  /** Per-attempt timeout in milliseconds. Default 30 000. */
  timeoutMs?: number | undefined;
}

/**
 * The metadata URLs tried for `issuer`, in order:
 * 1. RFC 8414 §3.1: `/.well-known/oauth-authorization-server` inserted between the host and the issuer's path
 *    (`https://as.example/tenant` → `https://as.example/.well-known/oauth-authorization-server/tenant`);
 * 2. OpenID Connect Discovery 1.0 §4: `/.well-known/openid-configuration` appended to the issuer.
 *
 * @example
 * ```ts
 * import { wellKnownUrls } from '@clavis/client';
 *
 * wellKnownUrls('https://as.example/tenant').map(String);
 * // [ 'https://as.example/.well-known/oauth-authorization-server/tenant',
 * //   'https://as.example/tenant/.well-known/openid-configuration' ]
 * ```
 */
export function wellKnownUrls(issuer: string): URL[] {
  const base = parseIssuer(issuer);
  const path = base.pathname.replace(/\/+$/, '');
  const rfc8414 = new URL(base.href);
  rfc8414.pathname = `/.well-known/oauth-authorization-server${path}`;
  const oidc = new URL(base.href);
  oidc.pathname = `${path}/.well-known/openid-configuration`;
  return [rfc8414, oidc];
}

function parseIssuer(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch (err) {
    throw new DiscoveryError(`Issuer "${issuer}" is not a valid URL`, { cause: err });
  }
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) {
    throw new DiscoveryError(`Issuer "${issuer}" must not contain a query or fragment (RFC 8414 §2)`);
  }
  return url;
}

/**
 * Fetches and validates the metadata of the authorization server identified by `issuer`. Tries the RFC 8414 URL
 * first and falls back to `/.well-known/openid-configuration` when that answers with a 4xx (typically 404). The
 * `issuer` in the document must be identical to the configured one (RFC 8414 §3.3), which blocks a misconfigured or
 * malicious server from impersonating another.
 *
 * @throws {@link DiscoveryError} on missing or invalid metadata or issuer mismatch, {@link NetworkError} when the
 *   server is unreachable.
 *
 * @example
 * ```ts
 * import { discover } from '@clavis/client';
 *
 * const metadata = await discover('https://auth.example.com');
 * console.log(metadata.token_endpoint, metadata.jwks_uri);
 * ```
 */
export async function discover(
  issuer: string,
  options: DiscoveryOptions = {},
): Promise<AuthorizationServerMetadata> {
  const fetchImpl = options.fetch ?? fetch;
  const failures: string[] = [];

  for (const url of wellKnownUrls(issuer)) {
    const response = await fetchWithRetry(
      url.href,
      (signal) =>
        fetchImpl(url.href, {
          method: 'GET',
          headers: { accept: 'application/json' },
          redirect: 'manual',
          ...(signal ? { signal } : {}),
        }),
      { retry: options.retry, timeoutMs: options.timeoutMs },
    );

    if (response.status >= 400 && response.status < 500) {
      failures.push(`${url.href} → HTTP ${response.status}`);
      await response.body?.cancel().catch(() => undefined);
      continue;
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new DiscoveryError(`Metadata request to ${url.href} answered HTTP ${response.status}`);
    }

    let metadata: unknown;
    try {
      metadata = await response.json();
    } catch (err) {
      throw new DiscoveryError(`Metadata at ${url.href} is not valid JSON`, { cause: err });
    }
    return validateMetadata(metadata, issuer, url.href);
  }

  throw new DiscoveryError(`No authorization server metadata found for ${issuer} (${failures.join('; ')})`);
}

function validateMetadata(metadata: unknown, issuer: string, source: string): AuthorizationServerMetadata {
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new DiscoveryError(`Metadata at ${source} is not a JSON object`);
  }
  const doc = metadata as Record<string, unknown>;
  if (doc.issuer !== issuer) {
    throw new DiscoveryError(
      `Metadata at ${source} has issuer ${JSON.stringify(doc.issuer)}, expected ${JSON.stringify(issuer)} (RFC 8414 §3.3)`,
    );
  }
  for (const member of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    const value = doc[member];
    if (value !== undefined && (typeof value !== 'string' || !URL.canParse(value))) {
      throw new DiscoveryError(`Metadata member ${member} at ${source} is not a URL`);
    }
  }
  return doc as AuthorizationServerMetadata;
}

/**
 * Memoizes discovery for one issuer: concurrent and later callers share one request; a failure is not cached, so
 * the next call tries again.
 *
 * @internal
 */
export function cachedDiscovery(
  issuer: string,
  options: DiscoveryOptions,
): () => Promise<AuthorizationServerMetadata> {
  let pending: Promise<AuthorizationServerMetadata> | undefined;
  return () => {
    if (!pending) {
      pending = discover(issuer, options);
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

/**
 * Reads a required endpoint from metadata.
 *
 * @internal
 */
export function requireEndpoint(
  metadata: AuthorizationServerMetadata,
  member: 'token_endpoint' | 'authorization_endpoint' | 'jwks_uri',
): string {
  const value = metadata[member];
  if (typeof value !== 'string') {
    throw new DiscoveryError(`Authorization server ${metadata.issuer} does not advertise ${member}`);
  }
  return value;
}
