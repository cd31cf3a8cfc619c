import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { userClaims } from '../../domain/oidc.js';
import { splitScope } from '../../domain/scopes.js';
import { InvalidRequest, InvalidToken } from '../../oauth/errors.js';
import { parseParams } from '../../oauth/form.js';
import type { Services } from '../../services.js';
import { bearerToken, requireAccessToken, sendBearerError } from '../bearer.js';
import { allowClientOrigin, answerPreflight } from '../cors.js';
import { sendMethodNotAllowed } from '../oauth-reply.js';

export const USERINFO_PATH = '/oauth/userinfo';

/**
 * The token sent in a POST's form body (RFC 6750 §2.2), if any. Sending it both there and in the
 * Authorization header is `invalid_request` (RFC 6750 §2: one method per request).
 *
 * @throws {InvalidRequest} for both at once, or a body that is not a form.
 */
function bodyToken(request: FastifyRequest): string | undefined {
  if (request.method !== 'POST' || typeof request.body !== 'string' || request.body === '') return undefined;
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const token = parseParams(request.body).get('access_token');
  if (token !== undefined && request.headers.authorization !== undefined)
    throw new InvalidRequest('Send the access token in one place: the Authorization header or the body.');
  return token;
}

/**
 * The client a page's access token was issued to, read without verifying it: it only decides which page may
 * read the answer (cors.ts), which is an error unless the token verifies.
 */
function tokenClient(value: string | undefined): string | undefined {
  const token = value === undefined ? undefined : (bearerToken(value) ?? value);
  if (!token) return undefined;
  try {
    const clientId = decodeJwt(token).client_id;
    return typeof clientId === 'string' ? clientId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The UserInfo endpoint (OIDC Core §5.3), GET and POST: a Bearer access token of this server's API audience
 * (a token for another audience is invalid here) that carries `openid` gets the user's claims for its
 * scopes, with the same `sub` as the ID token. Errors are RFC 6750 §3 challenges.
 */
export async function userinfoRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    let inBody: string | undefined;
    try {
      inBody = bodyToken(request);
    } catch (err) {
      return sendBearerError(reply, err as InvalidRequest);
    }
    if (request.headers.origin !== undefined)
      await allowClientOrigin(services, request, reply, tokenClient(inBody ?? request.headers.authorization));
    const claims = await requireAccessToken(services, request, reply, 'openid', inBody);
    if (!claims) return reply;
    // Only a user's grant (a code, a device code, their refreshes) has a `gid`; a client_credentials token's
    // subject is the client, and there is no user to describe (tokens issued before client_credentials left
    // out the OpenID scopes may still carry openid).
    if (claims.gid === undefined)
      return sendBearerError(
        reply,
        new InvalidToken(
          'This access token was issued to a client for itself (client_credentials), not for a user.',
        ),
      );
    const user = await userClaims(services.ctx, claims.sub, splitScope(claims.scope));
    if (!user) return sendBearerError(reply, new InvalidToken("The access token's user no longer exists."));
    return reply.send(user);
  };
  app.get(USERINFO_PATH, handler);
  app.post(USERINFO_PATH, handler);
  app.options(USERINFO_PATH, async (request, reply) => {
    if (await answerPreflight(services, request, reply, 'GET, POST')) return reply;
    return sendMethodNotAllowed(reply, 'GET, POST');
  });
}
