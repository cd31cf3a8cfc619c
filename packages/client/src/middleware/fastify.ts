/**
 * Fastify integration, typed structurally: this module does not import `fastify`.
 *
 * @packageDocumentation
 */

import { authenticateBearer, type BearerAuthOptions } from '../bearer.js';
import { JwksUnavailableError } from '../errors.js';
import type { AccessTokenClaims, Verifier } from '../verifier.js';

/**
 * The parts of a `FastifyRequest` the hook uses. `auth` is set on success.
 *
 * @example
 * ```ts
 * declare module 'fastify' {
 *   interface FastifyRequest { auth?: AccessTokenClaims }
 * }
 * ```
 */
export interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
  auth?: AccessTokenClaims;
}

/**
 * The parts of a `FastifyReply` the hook uses.
 *
 * @example
 * ```ts
 * // Any FastifyReply satisfies FastifyReplyLike; the hook only calls code(), header() and send().
 * app.addHook('preHandler', fastifyBearerAuth(verifier));
 * ```
 */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): unknown;
}

/**
 * An async Fastify `preHandler` (or `onRequest`) hook.
 *
 * @example
 * ```ts
 * const requireToken: FastifyBearerHook = fastifyBearerAuth(verifier);
 * app.addHook('preHandler', requireToken);
 * ```
 */
export type FastifyBearerHook = (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>;

/**
 * Creates a Fastify `preHandler` hook that requires a valid bearer access token. On success the claims are put on
 * `request.auth`; otherwise it replies 401/403 with the RFC 6750 `WWW-Authenticate` challenge and a JSON body
 * `{ error, error_description }`. JWKS outages are thrown (Fastify answers 500).
 *
 * Declare `auth` on Fastify's request type once in your app:
 * `declare module 'fastify' { interface FastifyRequest { auth?: AccessTokenClaims } }`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createVerifier, fastifyBearerAuth } from '@clavis/client';
 *
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' });
 * const app = Fastify();
 *
 * app.get('/orders', { preHandler: fastifyBearerAuth(verifier, { requiredScopes: ['orders:read'] }) }, async (req) => {
 *   return { owner: req.auth?.sub };
 * });
 * ```
 */
export function fastifyBearerAuth(verifier: Verifier, options: BearerAuthOptions = {}): FastifyBearerHook {
  return async (request, reply) => {
    let result: Awaited<ReturnType<typeof authenticateBearer>>;
    try {
      result = await authenticateBearer(verifier, request.headers.authorization, options);
    } catch (err) {
      // The keys could not be fetched: the token can't be judged, so this is the server's trouble (503),
      // told without the issuer's internal address; anything else goes to Fastify's error handler.
      if (!(err instanceof JwksUnavailableError)) throw err;
      return reply.code(503).header('retry-after', '5').header('cache-control', 'no-store').send({
        error: 'temporarily_unavailable',
        error_description: 'Access tokens cannot be verified right now.',
      });
    }
    if (result.ok) {
      request.auth = result.claims;
      return undefined;
    }
    return reply
      .code(result.status)
      .header('www-authenticate', result.wwwAuthenticate)
      .header('cache-control', 'no-store')
      .send(result.body);
  };
}
