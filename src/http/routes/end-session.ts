import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { destroySession, getSession, verifyCsrf } from '../../auth/session.js';
import { getAppByClientId } from '../../domain/apps.js';
import { OAuthError } from '../../oauth/errors.js';
import { type Params, parseParams } from '../../oauth/form.js';
import { decideEndSession } from '../../oauth/oidc/end-session.js';
import type { Services } from '../../services.js';
import { LogoutConfirmPage, SignedOutPage } from '../../web/logout-pages.js';
import { MessagePage } from '../../web/pages.js';
import { sendFormExpired, sendPage } from '../../web/render.js';
import { allowFormRedirectTo } from '../security-headers.js';

export const END_SESSION_PATH = '/oauth/end-session';

function readParams(request: FastifyRequest): Params {
  if (request.method === 'POST') return parseParams(typeof request.body === 'string' ? request.body : '');
  const url = request.url;
  const q = url.indexOf('?');
  return parseParams(q === -1 ? '' : url.slice(q + 1));
}

/**
 * Ends the request's Clavis session, if any; the apps it signed in to are told by back-channel logout,
 * queued with the sign-out and delivered by the outbox worker (the sign-out never waits for them).
 */
export async function signOut(services: Services, request: FastifyRequest, reply: FastifyReply) {
  await destroySession(services, request, reply);
}

/**
 * OpenID Connect RP-Initiated Logout 1.0: GET and POST `end_session_endpoint`. Errors are pages (nothing is
 * trusted enough to redirect to); the confirmation page is a CSRF-protected form posted back here.
 */
export async function endSessionRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const deps = {
    verifyHint: (token: string) => services.idTokens.verifyHint(token),
    findApp: (clientId: string) => getAppByClientId(services.ctx, clientId),
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    let params: Params;
    try {
      params = readParams(request);
    } catch (err) {
      const message = err instanceof OAuthError ? err.description : 'The request could not be read.';
      return sendPage(reply, 400, MessagePage({ title: 'Invalid request', message }));
    }
    const session = await getSession(services, request);
    const confirmed = request.method === 'POST' && params.get('confirm') === 'yes';
    if (confirmed && !(await verifyCsrf(services, request, params.get('csrf'))))
      return sendFormExpired(reply);
    const decision = await decideEndSession(deps, params, session && { userId: session.user.id }, confirmed);
    if (decision.kind === 'error')
      return sendPage(reply, 400, MessagePage({ title: decision.title, message: decision.message }));
    if (decision.kind === 'confirm' && session) {
      if (typeof decision.carry.post_logout_redirect_uri === 'string')
        allowFormRedirectTo(reply, decision.carry.post_logout_redirect_uri);
      return sendPage(
        reply,
        200,
        LogoutConfirmPage({
          csrf: session.csrf,
          user: session.user,
          appName: decision.app?.name ?? null,
          carry: decision.carry,
        }),
      );
    }
    await signOut(services, request, reply);
    if (decision.kind === 'logout' && decision.redirect)
      return reply
        .code(request.method === 'POST' ? 303 : 302)
        .header('location', decision.redirect)
        .send();
    return sendPage(reply, 200, SignedOutPage({ appName: decision.app?.name ?? null }));
  };
  app.get(END_SESSION_PATH, handler);
  app.post(END_SESSION_PATH, handler);
}
