/**
 * Parsing and building `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3).
 *
 * @packageDocumentation
 */

/**
 * One authentication challenge. Parameter names are lower-cased; values are unquoted.
 *
 * @example
 * ```ts
 * const [challenge]: Challenge[] = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
 * if (challenge?.params.error === 'insufficient_scope') console.log('needs', challenge.params.scope);
 * ```
 */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/**
 * Parses a `WWW-Authenticate` header value (possibly several challenges joined with commas, as `Headers.get`
 * returns them) into challenges.
 *
 * @example
 * ```ts
 * import { parseWwwAuthenticate } from '@clavis/client';
 *
 * parseWwwAuthenticate('Bearer realm="api", error="invalid_token", error_description="expired"');
 * // [{ scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token', error_description: 'expired' } }]
 * ```
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const n = header.length;

  const skip = (chars: string) => {
    while (i < n && chars.includes(header[i]!)) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TCHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const readValue = () => {
    if (header[i] !== '"') return readToken();
    i++;
    let value = '';
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++; // closing quote
    return value;
  };

  while (i < n) {
    skip(' \t,');
    if (i >= n) break;
    const start = i;
    const name = readToken();
    if (!name) {
      i++;
      continue;
    }
    skip(' \t');
    if (current && header[i] === '=' && header[i + 1] !== '=') {
      // auth-param of the current challenge
      i++;
      skip(' \t');
      current.params[name.toLowerCase()] = readValue();
      continue;
    }
    if (header[i] === '=' && current === undefined) {
      // A parameter without a scheme: malformed, skip it.
      i++;
      skip(' \t');
      readValue();
      continue;
    }
    i = start + name.length;
    current = { scheme: name, params: {} };
    challenges.push(current);
    skip(' \t');
    const rest = header.slice(i);
    const token68 = rest.match(TOKEN68)?.[0];
    if (token68) {
      const after = rest.slice(token68.length).trimStart();
      if (after === '' || after.startsWith(',')) {
        current.token68 = token68;
        i += token68.length;
      }
    }
  }
  return challenges;
}

/**
 * Finds the first challenge with the given scheme (case-insensitive) in a response's `WWW-Authenticate` header.
 *
 * @example
 * ```ts
 * import { findChallenge } from '@clavis/client';
 *
 * const res = await fetch('https://api.example.com/orders');
 * if (res.status === 401 && findChallenge(res.headers, 'Bearer')?.params.error === 'invalid_token') {
 *   // token expired or revoked: get a new one
 * }
 * ```
 */
export function findChallenge(headers: Headers, scheme: string): Challenge | undefined {
  const value = headers.get('www-authenticate');
  if (!value) return undefined;
  const wanted = scheme.toLowerCase();
  return parseWwwAuthenticate(value).find((c) => c.scheme.toLowerCase() === wanted);
}

/** Removes characters not allowed in RFC 6750 `error_description` / `scope` / `realm` quoted values. */
function sanitize(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/**
 * Attributes of an RFC 6750 §3 Bearer challenge.
 *
 * @example
 * ```ts
 * const params: BearerChallengeParams = { realm: 'api', error: 'invalid_token', error_description: 'expired' };
 * res.setHeader('www-authenticate', bearerChallenge(params));
 * ```
 */
export interface BearerChallengeParams {
  realm?: string | undefined;
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | undefined;
  error_description?: string | undefined;
  /** Space-separated scopes needed (for `insufficient_scope`). */
  scope?: string | undefined;
}

/**
 * Builds an RFC 6750 §3 `WWW-Authenticate: Bearer ...` value. Characters RFC 6750 forbids inside the quoted values
 * (`"`, `\`, control and non-ASCII characters) are dropped.
 *
 * @example
 * ```ts
 * import { bearerChallenge } from '@clavis/client';
 *
 * bearerChallenge({ realm: 'api', error: 'invalid_token', error_description: 'token expired' });
 * // 'Bearer realm="api", error="invalid_token", error_description="token expired"'
 * ```
 */
export function bearerChallenge(params: BearerChallengeParams = {}): string {
  const parts: string[] = [];
  for (const key of ['realm', 'error', 'error_description', 'scope'] as const) {
    const value = params[key];
    if (value !== undefined) parts.push(`${key}="${sanitize(value)}"`);
  }
  return parts.length ? `Bearer ${parts.join(', ')}` : 'Bearer';
}
