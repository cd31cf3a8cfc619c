/**
 * Typed errors raised by `@clavis/client`.
 *
 * Every error extends {@link ClavisError}, so `err instanceof ClavisError` catches anything the SDK raises on
 * purpose, while the subclasses let callers tell a rejected request ({@link OAuthError}) from an unreachable
 * server ({@link NetworkError}) or a malformed answer ({@link UnexpectedResponseError}).
 *
 * @packageDocumentation
 */

/**
 * Base class of every error raised by this SDK. `code` is a stable machine-readable identifier.
 *
 * @example
 * ```ts
 * import { ClavisError } from '@clavis/client';
 *
 * try {
 *   await tokens.getToken();
 * } catch (err) {
 *   if (err instanceof ClavisError) console.error(err.code, err.message);
 *   throw err;
 * }
 * ```
 */
export class ClavisError extends Error {
  /** Stable, machine-readable error code, e.g. `ERR_OAUTH` or `ERR_NETWORK`. */
  readonly code: string;

  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Fields of an RFC 6749 §5.2 error response (also used for §4.1.2.1 authorization error responses).
 *
 * @example
 * ```ts
 * const fields: OAuthErrorFields = { error: 'invalid_grant', error_description: 'refresh token revoked' };
 * throw new OAuthError(fields, 400);
 * ```
 */
export interface OAuthErrorFields {
  /** The RFC 6749 `error` code, e.g. `invalid_client`, `invalid_grant`, `access_denied`. */
  error: string;
  /** Human-readable `error_description`, if the server sent one. */
  error_description?: string | undefined;
  /** `error_uri` pointing at a human-readable page, if the server sent one. */
  error_uri?: string | undefined;
}

/**
 * The authorization server answered with an RFC 6749 error (`{"error": "..."}` at the token endpoint, or
 * `?error=...` on the redirect back from the authorization endpoint). These are never retried.
 *
 * @example
 * ```ts
 * import { OAuthError } from '@clavis/client';
 *
 * try {
 *   await tokens.getToken();
 * } catch (err) {
 *   if (err instanceof OAuthError && err.error === 'invalid_client') {
 *     console.error('client_id / client_secret rejected:', err.error_description, 'HTTP', err.status);
 *   }
 *   throw err;
 * }
 * ```
 */
export class OAuthError extends ClavisError implements OAuthErrorFields {
  readonly error: string;
  readonly error_description: string | undefined;
  readonly error_uri: string | undefined;
  /** HTTP status of the response; `undefined` for errors delivered on the authorization redirect. */
  readonly status: number | undefined;

  constructor(fields: OAuthErrorFields, status?: number, options?: ErrorOptions) {
    super(
      fields.error_description ? `${fields.error}: ${fields.error_description}` : fields.error,
      'ERR_OAUTH',
      options,
    );
    this.error = fields.error;
    this.error_description = fields.error_description;
    this.error_uri = fields.error_uri;
    this.status = status;
  }
}

/**
 * The server could not be reached (connection refused, DNS failure, reset, timeout), even after the configured
 * retries. `cause` holds the last underlying error.
 *
 * @example
 * ```ts
 * import { NetworkError } from '@clavis/client';
 *
 * try {
 *   await tokens.getToken();
 * } catch (err) {
 *   if (err instanceof NetworkError) console.error(`gave up after ${err.attempts} attempts`, err.cause);
 *   throw err;
 * }
 * ```
 */
export class NetworkError extends ClavisError {
  /** Number of attempts made before giving up. */
  readonly attempts: number;
  /** The URL that could not be reached. */
  readonly url: string;

  constructor(url: string, attempts: number, cause: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(`Request to ${url} failed after ${attempts} attempt(s)${detail}`, 'ERR_NETWORK', { cause });
    this.url = url;
    this.attempts = attempts;
  }
}

/**
 * The server answered, but not in a way this SDK can use: a non-2xx status without an RFC 6749 error body (for
 * example a 5xx that persisted after retries), a body that is not JSON, or a success body missing required fields.
 *
 * @example
 * ```ts
 * import { UnexpectedResponseError } from '@clavis/client';
 *
 * try {
 *   await tokens.getToken();
 * } catch (err) {
 *   if (err instanceof UnexpectedResponseError && err.status >= 500) console.error('authorization server down');
 *   throw err;
 * }
 * ```
 */
export class UnexpectedResponseError extends ClavisError {
  /** HTTP status code of the response. */
  readonly status: number;
  /** Up to 1 KiB of the response body, for diagnostics. */
  readonly body: string | undefined;

  constructor(message: string, status: number, body?: string, options?: ErrorOptions) {
    super(message, 'ERR_UNEXPECTED_RESPONSE', options);
    this.status = status;
    this.body = body;
  }
}

/**
 * Authorization server metadata could not be obtained or failed validation (RFC 8414 §3.3), for instance the
 * returned `issuer` differs from the configured one, or a required endpoint is not advertised.
 *
 * @example
 * ```ts
 * import { discover, DiscoveryError } from '@clavis/client';
 *
 * try {
 *   await discover('https://auth.example.com');
 * } catch (err) {
 *   if (err instanceof DiscoveryError) console.error('check the issuer URL:', err.message);
 *   throw err;
 * }
 * ```
 */
export class DiscoveryError extends ClavisError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_DISCOVERY', options);
  }
}

/**
 * Why an authorization response (the redirect back to `redirect_uri`) was rejected.
 *
 * @example
 * ```ts
 * if (err instanceof AuthorizationResponseError) {
 *   const reason: AuthorizationResponseErrorReason = err.reason; // e.g. 'state_mismatch'
 * }
 * ```
 */
export type AuthorizationResponseErrorReason =
  | 'state_mismatch'
  | 'iss_mismatch'
  | 'iss_missing'
  | 'code_missing'
  | 'invalid_callback';

/**
 * The redirect back from the authorization endpoint failed client-side validation: wrong `state` (CSRF), wrong or
 * missing `iss` (RFC 9207 mix-up defence), or no `code`. Errors reported by the server itself (`?error=...`) are
 * raised as {@link OAuthError} instead.
 *
 * @example
 * ```ts
 * import { AuthorizationResponseError } from '@clavis/client';
 *
 * try {
 *   await oauth.handleCallback(req.url, { state, codeVerifier });
 * } catch (err) {
 *   if (err instanceof AuthorizationResponseError && err.reason === 'state_mismatch') res.statusCode = 400;
 *   throw err;
 * }
 * ```
 */
export class AuthorizationResponseError extends ClavisError {
  readonly reason: AuthorizationResponseErrorReason;

  constructor(reason: AuthorizationResponseErrorReason, message: string) {
    super(message, 'ERR_AUTHORIZATION_RESPONSE');
    this.reason = reason;
  }
}

/**
 * Base class of the errors a resource server reports back to the caller as an RFC 6750 §3 Bearer challenge.
 * `status` and `error` are what belongs in the HTTP response.
 *
 * @example
 * ```ts
 * import { BearerTokenError } from '@clavis/client';
 *
 * try {
 *   await verifier.verify(token);
 * } catch (err) {
 *   if (err instanceof BearerTokenError) return reply.code(err.status).send({ error: err.error });
 *   throw err;
 * }
 * ```
 */
export class BearerTokenError extends ClavisError {
  /** RFC 6750 error code. */
  readonly error: 'invalid_token' | 'insufficient_scope';
  /** HTTP status the resource server should answer with (401 or 403). */
  readonly status: 401 | 403;

  constructor(
    error: 'invalid_token' | 'insufficient_scope',
    status: 401 | 403,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, error === 'invalid_token' ? 'ERR_INVALID_TOKEN' : 'ERR_INSUFFICIENT_SCOPE', options);
    this.error = error;
    this.status = status;
  }
}

/**
 * The access token is missing, malformed, expired, not meant for this audience, signed with a disallowed algorithm,
 * or otherwise not acceptable. Answer with HTTP 401 and `error="invalid_token"`.
 *
 * @example
 * ```ts
 * import { InvalidTokenError } from '@clavis/client';
 *
 * try {
 *   await verifier.verify(token);
 * } catch (err) {
 *   if (err instanceof InvalidTokenError) console.warn('rejected token:', err.message);
 *   throw err;
 * }
 * ```
 */
export class InvalidTokenError extends BearerTokenError {
  constructor(message: string, options?: ErrorOptions) {
    super('invalid_token', 401, message, options);
  }
}

/**
 * The access token is valid but lacks scopes the endpoint requires. Answer with HTTP 403 and
 * `error="insufficient_scope", scope="<required scopes>"`.
 *
 * @example
 * ```ts
 * import { InsufficientScopeError } from '@clavis/client';
 *
 * try {
 *   await verifier.verify(token, { requiredScopes: ['orders:write'] });
 * } catch (err) {
 *   if (err instanceof InsufficientScopeError) console.warn('missing scopes:', err.missingScopes);
 *   throw err;
 * }
 * ```
 */
export class InsufficientScopeError extends BearerTokenError {
  /** All scopes the endpoint requires (goes into the challenge's `scope` attribute). */
  readonly requiredScopes: string[];
  /** The required scopes the token does not carry. */
  readonly missingScopes: string[];

  constructor(requiredScopes: string[], missingScopes: string[]) {
    super('insufficient_scope', 403, `Token lacks required scope(s): ${missingScopes.join(' ')}`);
    this.requiredScopes = requiredScopes;
    this.missingScopes = missingScopes;
  }
}

/**
 * The JSON Web Key Set needed to verify tokens could not be fetched (network failure, non-200, invalid JSON). This
 * is a server-side problem, not a bad token, so middleware passes it on as an internal error instead of a 401.
 *
 * @example
 * ```ts
 * import { JwksUnavailableError } from '@clavis/client';
 *
 * try {
 *   await verifier.verify(token);
 * } catch (err) {
 *   if (err instanceof JwksUnavailableError) res.statusCode = 503;
 *   throw err;
 * }
 * ```
 */
export class JwksUnavailableError extends ClavisError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_JWKS_UNAVAILABLE', options);
  }
}
