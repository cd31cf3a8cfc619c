import type { FastifyReply } from 'fastify';
import type { OAuthError } from '../oauth/errors.js';

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
