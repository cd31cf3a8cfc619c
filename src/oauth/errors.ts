/**
 * OAuth 2.0 protocol errors, one class per registered error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
 * RFC 7009 §2.2.1). Modelled on node-oidc-provider's `lib/helpers/errors.js`.
 *
 * `error_description` is always a fixed, server-written sentence: never echo request data (secrets, codes or
 * tokens) into it.
 */
export class OAuthError extends Error {
  /** The RFC error code sent as `error`. */
  readonly error: string;
  /** The HTTP status for the token-style JSON response. */
  readonly statusCode: number;
  readonly description: string;
  /** Extra response headers (e.g. `WWW-Authenticate`). */
  readonly headers: Record<string, string> = {};

  constructor(error: string, statusCode: number, description: string) {
    const ascii = asciiDescription(description);
    super(ascii);
    this.name = new.target.name;
    this.error = error;
    this.statusCode = statusCode;
    this.description = ascii;
  }

  /** The RFC 6749 §5.2 body. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** RFC 6749 §5.2's `error_description` characters. */
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * The description as RFC 6749 §5.2 and RFC 6750 §3 allow it (`%x20-21 / %x23-5B / %x5D-7E`: printable ASCII
 * without `"` and `\`): typographic quotes and dashes become their ASCII forms, anything else outside the set
 * a `?`. A character outside it in a `WWW-Authenticate` header is refused by Node.js (a 500 instead of the
 * error), and strict clients reject such a body.
 */
export function asciiDescription(description: string): string {
  // Nearly every description is fixed ASCII text already: one test, no copies.
  if (DESCRIPTION_CHARS.test(description)) return description;
  return description
    .replace(/[\u2018\u2019\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D"]/g, "'")
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x7E]/g, '?');
}

/** RFC 6749 §5.2: missing, repeated or malformed parameter. */
export class InvalidRequest extends OAuthError {
  constructor(
    description = 'The request is missing a required parameter or is otherwise malformed.',
    status = 400,
  ) {
    super('invalid_request', status, description);
  }
}

/** RFC 6749 §5.2: client authentication failed. */
export class InvalidClient extends OAuthError {
  constructor(description = 'Client authentication failed.') {
    super('invalid_client', 401, description);
    // RFC 6749 §5.2: a client that used the Authorization header MUST get the scheme back; RFC 9110 §15.5.2
    // requires WWW-Authenticate on every 401, so clients of client_secret_post see it too.
    this.headers['www-authenticate'] = 'Basic realm="clavis", charset="UTF-8"';
  }
}

/** RFC 6749 §5.2: the grant (code, refresh token) is invalid, expired, revoked or bound elsewhere. */
export class InvalidGrant extends OAuthError {
  constructor(description = 'The provided authorization grant is invalid, expired or revoked.') {
    super('invalid_grant', 400, description);
  }
}

/** RFC 6749 §5.2: this client may not use this grant type. */
export class UnauthorizedClient extends OAuthError {
  constructor(description = 'The client is not authorized to use this grant type.') {
    super('unauthorized_client', 400, description);
  }
}

/** RFC 6749 §5.2: the server does not support this grant type. */
export class UnsupportedGrantType extends OAuthError {
  constructor(description = 'The grant type is not supported by this server.') {
    super('unsupported_grant_type', 400, description);
  }
}

/** RFC 6749 §5.2: the requested scope is invalid, unknown, or exceeds what the client may have. */
export class InvalidScope extends OAuthError {
  constructor(
    description = 'The requested scope is invalid, unknown, or exceeds the scope granted to the client.',
  ) {
    super('invalid_scope', 400, description);
  }
}

/** RFC 6749 §4.1.2.1: the resource owner or server denied the request. */
export class AccessDenied extends OAuthError {
  constructor(description = 'The resource owner or authorization server denied the request.') {
    super('access_denied', 400, description);
  }
}

/** RFC 8628 §3.5: the user has not yet approved or denied the device authorization; keep polling. */
export class AuthorizationPending extends OAuthError {
  constructor(description = 'The user has not yet approved or denied the request.') {
    super('authorization_pending', 400, description);
  }
}

/** RFC 8628 §3.5: polling too fast; the interval grows by 5 seconds for this and all later requests. */
export class SlowDown extends OAuthError {
  constructor(readonly interval: number) {
    super('slow_down', 400, `Polling too fast: wait at least ${interval} seconds between requests.`);
  }

  /** The RFC 6749 §5.2 body with the new interval (an extension member RFC 8628 §3.5 leaves room for). */
  override toJSON(): { error: string; error_description: string; interval: number } {
    return { ...super.toJSON(), interval: this.interval };
  }
}

/** RFC 8628 §3.5: the device code has expired; the client may start a new device authorization. */
export class ExpiredToken extends OAuthError {
  constructor(description = 'The device code has expired.') {
    super('expired_token', 400, description);
  }
}

/** RFC 6749 §4.1.2.1: unsupported response_type. */
export class UnsupportedResponseType extends OAuthError {
  constructor(description = 'Only response_type=code is supported.') {
    super('unsupported_response_type', 400, description);
  }
}

/** RFC 7009 §2.2.1: revocation of this token type is not supported. */
export class UnsupportedTokenType extends OAuthError {
  constructor(description = 'Revocation of this token type is not supported.') {
    super('unsupported_token_type', 400, description);
  }
}

/** RFC 6749 §4.1.2.1 / RFC 6750 §3.1: unexpected server condition. */
export class ServerError extends OAuthError {
  constructor(description = 'The authorization server encountered an unexpected condition.') {
    super('server_error', 500, description);
  }
}

/** RFC 6749 §4.1.2.1: temporarily unavailable. */
export class TemporarilyUnavailable extends OAuthError {
  constructor(description = 'The authorization server is temporarily unavailable.') {
    super('temporarily_unavailable', 503, description);
  }
}

/** RFC 6750 §3.1: the access token is missing, expired, revoked or malformed. */
export class InvalidToken extends OAuthError {
  constructor(description = 'The access token is invalid.') {
    super('invalid_token', 401, description);
  }
}

/** RFC 6750 §3.1: the token lacks the scope this resource needs. */
export class InsufficientScope extends OAuthError {
  readonly scope: string;

  constructor(
    scope: string,
    description = 'The access token does not carry the scope this resource requires.',
  ) {
    super('insufficient_scope', 403, description);
    this.scope = scope;
  }
}

/** RFC 8707 §2: the requested resource (audience) is not one this server issues tokens for. */
export class InvalidTarget extends OAuthError {
  constructor(description = 'The requested resource is not known to this authorization server.') {
    super('invalid_target', 400, description);
  }
}

/** OpenID Connect Core §3.1.2.6 (RFC 9101): the `request` parameter (a request object) is not supported. */
export class RequestNotSupported extends OAuthError {
  constructor(description = 'Request objects (the request parameter) are not supported.') {
    super('request_not_supported', 400, description);
  }
}

/** OpenID Connect Core §3.1.2.6 (RFC 9101): the `request_uri` parameter is not supported. */
export class RequestUriNotSupported extends OAuthError {
  constructor(description = 'Request objects by reference (request_uri) are not supported.') {
    super('request_uri_not_supported', 400, description);
  }
}

/** OpenID Connect Core §3.1.2.6: `prompt=none`, but the user must sign in (again). */
export class LoginRequired extends OAuthError {
  constructor(description = 'The user must sign in, and prompt=none forbids showing the sign-in page.') {
    super('login_required', 400, description);
  }
}

/** OpenID Connect Core §3.1.2.6: `prompt=none`, but the user has not consented to this request. */
export class ConsentRequired extends OAuthError {
  constructor(description = 'The user must consent, and prompt=none forbids showing the consent page.') {
    super('consent_required', 400, description);
  }
}
