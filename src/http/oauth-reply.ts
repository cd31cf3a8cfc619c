import type { FastifyReply } from 'fastify';
import { type OAuthError, TemporarilyUnavailable } from '../oauth/errors.js';

/** How long clients are told to wait when the database is unreachable (`Retry-After`, seconds). */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** RFC 6749 §4.1.2.1 / §5.2 `temporarily_unavailable` (503) with `Retry-After`, for a database outage. */
export function temporarilyUnavailable(): OAuthError {
  const err = new TemporarilyUnavailable(
    'The authorization server cannot reach its database at the moment. Try again shortly.',
  );
  err.headers['retry-after'] = String(OUTAGE_RETRY_AFTER_SECONDS);
  return err;
}

/** Sends an RFC 6749 §5.2 error body with `Cache-Control: no-store`. */
export function sendOAuthError(reply: FastifyReply, err: OAuthError): FastifyReply {
  reply.code(err.statusCode);
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('content-type', 'application/json; charset=utf-8')
    .send(err.toJSON());
}

/** Sends a successful token-style JSON body with `Cache-Control: no-store` (RFC 6749 §5.1). */
export function sendNoStore(reply: FastifyReply, body: unknown): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('content-type', 'application/json; charset=utf-8')
    .send(body);
}

/** A 405 for a protocol endpoint, with `Allow` and an RFC 6749 body naming the methods it accepts. */
export function sendMethodNotAllowed(reply: FastifyReply, allow: 'POST' | 'GET, POST'): FastifyReply {
  return reply
    .code(405)
    .header('allow', allow)
    .header('cache-control', 'no-store')
    .send({
      error: 'invalid_request',
      error_description: `This endpoint accepts ${allow === 'POST' ? 'POST requests' : 'GET and POST requests'} only.`,
    });
}
