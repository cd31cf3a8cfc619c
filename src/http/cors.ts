import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_ID_PATTERN } from '../domain/apps.js';
import { originMatchesCallback } from '../domain/callback-url.js';
import type { Services } from '../services.js';

/**
 * Cross-origin reads (CORS) of the protocol endpoints, for apps that run in a browser: single-page apps, which
 * are public clients (a page cannot keep a secret).
 *
 * - Discovery and the JWKS are public documents: any origin may read them (`*`).
 * - The token, revocation, device authorization and UserInfo endpoints answer a page only when the request's
 *   client is a public client, not disabled, and the page's origin is its callback URL's origin (any port for
 *   a loopback IP callback). Once the client is known, the answer, success or error, carries
 *   `Access-Control-Allow-Origin` with that origin; any other page gets no such header, so its browser keeps
 *   the answer from it. A request refused before its client is read (not a form, say) has none either.
 * - Introspection is for resource servers, never pages: no CORS.
 * - Never `Access-Control-Allow-Credentials`: these endpoints take no cookies, and a page's request carries
 *   its credentials in the request itself.
 *
 * Preflights (`OPTIONS` with `Access-Control-Request-Method`) name no client: they are answered for the
 * origin of any public app's callback URL, and what the page may read is decided on the real request, once
 * the client is known. No origin that no app has is ever echoed.
 */

/** How long a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE = '600';

/** The `Origin` of a browser's request, if it is one. */
function originOf(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin !== '' && origin !== 'null' ? origin : undefined;
}

/** Lets any page read this (public) document. */
export function allowAnyOrigin(reply: FastifyReply): FastifyReply {
  return reply.header('access-control-allow-origin', '*');
}

/**
 * Answers a CORS preflight for an endpoint that accepts `methods`. A preflight names no client, so it lets
 * through the pages of every public app (their callback URLs' origins); any other origin gets the answer
 * without CORS headers, which its browser takes as a refusal.
 *
 * @returns `false` when the request is not a preflight (a plain `OPTIONS`), for the caller to answer.
 */
export async function answerPreflight(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  methods: string,
): Promise<boolean> {
  const origin = originOf(request);
  if (origin === undefined || request.headers['access-control-request-method'] === undefined) return false;
  reply.code(204).header('vary', 'origin').header('cache-control', 'no-store');
  if (await services.publicOrigins.has(origin))
    reply
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', methods)
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', PREFLIGHT_MAX_AGE);
  void reply.send();
  return true;
}

/**
 * Lets the page that sent `request` read the answer when `clientId` names a public client whose callback URL
 * has the page's origin. Does nothing (and reads nothing) for a request without an `Origin`, which is how
 * servers and native apps call.
 */
export async function allowClientOrigin(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  clientId: string | undefined,
): Promise<void> {
  const origin = originOf(request);
  if (origin === undefined) return;
  reply.header('vary', 'origin');
  // Only a client_id that could be one is looked up (UserInfo's comes from a token not yet verified).
  if (clientId === undefined || !CLIENT_ID_PATTERN.test(clientId)) return;
  const client = await services.registry.find(clientId);
  const app = client?.app;
  if (app?.client_type !== 'public' || app.status === 'disabled') return;
  if (!originMatchesCallback(app.callback_url, origin)) return;
  reply.header('access-control-allow-origin', origin);
  // A page reads the challenge of a 401 (RFC 6750 §3) to know its token is no longer good, and how long to
  // wait after a 429 or 503.
  reply.header('access-control-expose-headers', 'www-authenticate, retry-after');
}
