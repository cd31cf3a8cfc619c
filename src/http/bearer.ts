import type { FastifyReply, FastifyRequest } from 'fastify';
import { splitScope } from '../domain/scopes.js';
import type { AccessTokenClaims } from '../oauth/access-token.js';
import { InsufficientScope, InvalidToken, type OAuthError } from '../oauth/errors.js';
import type { Services } from '../services.js';

/**
 * Reads the access token from the Authorization header: `Bearer <token>` (RFC 6750 §2.1, scheme
 * case-insensitive) or, for the seeds' clients that send it bare, the token alone.
 */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined || header.trim() === '') return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (m) return m[1]!;
  // A bare JWT: three base64url segments and nothing else.
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(header.trim())) return header.trim();
  return null;
}

function quote(s: string): string {
  return s.replace(/["\\]/g, '');
}

/**
 * The error for a request with no access token at all. RFC 6750 §3.1 says such a challenge SHOULD NOT carry
 * an error code; the server-core issue requires `invalid_token` for a missing token as for a bad one, so
 * clients that re-authenticate on `invalid_token` (the SDK, the seeds' code) treat both alike, and the
 * challenge and the body agree. Clavis's own API and the management API answer it the same way.
 */
export const missingToken = () =>
  new InvalidToken('An access token is required (Authorization: Bearer <token>).');

/** The RFC 6750 §3 `WWW-Authenticate` challenge for an error. */
export function bearerChallenge(err: OAuthError): string {
  let challenge = `Bearer realm="clavis", error="${err.error}", error_description="${quote(err.description)}"`;
  if (err instanceof InsufficientScope) challenge += `, scope="${quote(err.scope)}"`;
  return challenge;
}

/** Sends an RFC 6750 §3 error: 401/403 with `WWW-Authenticate: Bearer ...`. */
export function sendBearerError(reply: FastifyReply, err: OAuthError): FastifyReply {
  return reply.code(err.statusCode).header('www-authenticate', bearerChallenge(err)).send(err.toJSON());
}

/**
 * Authenticates a request to Clavis's own protected API: verifies the JWT, checks it is still live
 * (not revoked, app not disabled, grant not revoked) and that it carries `requiredScope`.
 *
 * @param bodyToken A token sent in the form body (RFC 6750 §2.2), where the endpoint accepts that.
 * @returns the claims, or `null` after sending the 401/403.
 */
export async function requireAccessToken(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  requiredScope?: string,
  bodyToken?: string,
): Promise<AccessTokenClaims | null> {
  const token = bodyToken ?? bearerToken(request.headers.authorization);
  if (token === undefined) {
    sendBearerError(reply, missingToken());
    return null;
  }
  const claims = token === null ? null : await services.tokens.verify(token);
  if (!claims) {
    sendBearerError(
      reply,
      new InvalidToken('The access token is malformed, expired, or not signed by this server.'),
    );
    return null;
  }
  if (!(await services.liveness.isLive(claims))) {
    sendBearerError(reply, new InvalidToken('The access token has been revoked.'));
    return null;
  }
  if (requiredScope && !splitScope(claims.scope).includes(requiredScope)) {
    sendBearerError(reply, new InsufficientScope(requiredScope));
    return null;
  }
  return claims;
}
