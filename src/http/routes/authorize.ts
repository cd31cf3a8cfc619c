import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfToken, getSession, verifyCsrf } from '../../auth/session.js';
import { isConnectionError } from '../../db/errors.js';
import {
  type AuthorizationRequest,
  type AuthorizeValidation,
  domainApis,
  errorRedirect,
  validateAuthorizationRequest,
} from '../../oauth/authorize.js';
import {
  type AuthorizeOutcome,
  authorizeStore,
  decideAuthorization,
  decideConsent,
} from '../../oauth/authorize-decision.js';
import { OAuthError } from '../../oauth/errors.js';
import { type Params, parseParams } from '../../oauth/form.js';
import type { Services } from '../../services.js';
import { type AppSummary, ConsentPage, LoginPage, MessagePage } from '../../web/pages.js';
import { sendFormExpired, sendPage } from '../../web/render.js';
import { SelectAccountPage } from '../../web/select-account-page.js';
import { allowFormRedirectTo } from '../security-headers.js';
import { signOut } from './end-session.js';

const AUTHORIZE_QUERY = '/oauth/authorize?';

export function appSummary(v: {
  app: AuthorizationRequest['app'];
  tenant: AuthorizationRequest['tenant'];
}): AppSummary {
  return { name: v.app.name, tenantName: v.tenant.name, visibility: v.app.visibility, status: v.app.status };
}

function rawQuery(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? '' : url.slice(i + 1);
}

/** Sends the browser back to the client: 302 after a GET, 303 after a form POST. */
/** The form a page of this flow posted, or `null` once a 400 page saying why it could not be read was sent. */
function readPageForm(request: FastifyRequest, reply: FastifyReply): Params | null {
  try {
    return parseParams(typeof request.body === 'string' ? request.body : '');
  } catch (err) {
    const message = err instanceof OAuthError ? err.description : 'The form could not be read.';
    sendPage(reply, 400, MessagePage({ title: 'Invalid form', message }));
    return null;
  }
}

function redirect(reply: FastifyReply, location: string, status: 302 | 303): FastifyReply {
  return reply.code(status).header('location', location).header('cache-control', 'no-store').send();
}

function sendValidationFailure(
  services: Services,
  reply: FastifyReply,
  v: Exclude<AuthorizeValidation, { kind: 'ok' }>,
  status: 302 | 303,
) {
  if (v.kind === 'page')
    return sendPage(
      reply,
      v.status,
      MessagePage({
        title: v.title,
        message: v.message,
        app: v.app && v.tenant ? appSummary({ app: v.app, tenant: v.tenant }) : undefined,
      }),
    );
  return redirect(reply, errorRedirect(v.redirectUri, services.config.issuer, v.error, v.state), status);
}

/** Renders or follows an authorization decision: 302 for the GET endpoint, 303 after the consent form. */
async function sendOutcome(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  req: AuthorizationRequest,
  outcome: AuthorizeOutcome,
  status: 302 | 303,
): Promise<FastifyReply> {
  switch (outcome.kind) {
    case 'redirect':
      return redirect(reply, outcome.location, status);
    case 'page':
      return sendPage(
        reply,
        outcome.status,
        MessagePage({
          title: outcome.title,
          message: outcome.message,
          app: appSummary(req),
          link: outcome.link,
        }),
      );
    case 'login':
      allowFormRedirectTo(reply, req.redirectUri);
      return sendPage(
        reply,
        200,
        LoginPage({
          // The sign-in form checks the pre-session token, even when a session exists (prompt=login, max_age).
          csrf: await csrfToken(services, request, reply, { preSession: true }),
          returnTo: outcome.returnTo,
          email: outcome.loginHint,
          app: appSummary(req),
        }),
      );
    case 'select_account':
      return sendPage(
        reply,
        200,
        SelectAccountPage({
          csrf: await csrfToken(services, request, reply),
          app: appSummary(req),
          user: outcome.user,
          request: outcome.request,
        }),
      );
    case 'consent':
      allowFormRedirectTo(reply, req.redirectUri);
      return sendPage(
        reply,
        200,
        ConsentPage({
          csrf: await csrfToken(services, request, reply),
          request: req.raw,
          app: appSummary(req),
          user: outcome.user,
          scopes: outcome.scopes,
          groups: outcome.groups,
          tenantName: outcome.tenantName,
          redirectUri: req.redirectUri,
        }),
      );
  }
}

/**
 * The authorization endpoint (RFC 6749 §3.1, OAuth 2.1, RFC 9700, RFC 9207): GET /oauth/authorize, and the
 * consent form's POST /oauth/authorize/decision. Every failure ends as an HTML page or a redirect to the
 * client; nothing here answers with JSON or a 500.
 */
export async function authorizeRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const deps = {
    store: authorizeStore(services.ctx),
    issuer: services.config.issuer,
    apis: domainApis(services.ctx),
    verifyHint: (token: string) => services.idTokens.verifyHint(token),
    now: services.ctx.now,
  };

  const handleAuthorize = async (request: FastifyRequest, reply: FastifyReply, raw: string) => {
    try {
      const v = await validateAuthorizationRequest(services.ctx, raw);
      if (v.kind !== 'ok') return sendValidationFailure(services, reply, v, 302);
      const session = await getSession(services, request);
      const signedIn = session && { user: session.user, authTime: session.createdAt, sid: session.sid };
      const outcome = await decideAuthorization(deps, v.request, signedIn);
      return await sendOutcome(services, request, reply, v.request, outcome, 302);
    } catch (err) {
      // An outage is the error handler's: 503 with Retry-After, logged once per outage.
      if (isConnectionError(err)) throw err;
      request.log.error({ err }, 'authorization endpoint failed');
      return sendPage(
        reply,
        500,
        MessagePage({
          title: 'Something went wrong',
          message: 'Something went wrong on our side. Try again.',
        }),
      );
    }
  };
  app.get('/oauth/authorize', (request, reply) => handleAuthorize(request, reply, rawQuery(request.url)));
  // OIDC Core §3.1.2.1: the authorization endpoint MUST support POST too (form-encoded parameters).
  app.post('/oauth/authorize', (request, reply) =>
    handleAuthorize(request, reply, typeof request.body === 'string' ? request.body : ''),
  );

  // The account chooser's answer (prompt=select_account, OIDC Core §3.1.2.1): go on as the signed-in user,
  // or sign out of Clavis first, so the request shows the sign-in form. Either way the request goes on
  // without the prompt, so it is asked once.
  app.post('/oauth/authorize/select-account', async (request, reply) => {
    const params = readPageForm(request, reply);
    if (!params) return reply;
    const choice = params.get('choice');
    if (choice !== 'continue' && choice !== 'other')
      return sendPage(
        reply,
        400,
        MessagePage({ title: 'Invalid form', message: 'Choose an account to continue with.' }),
      );
    const session = await getSession(services, request);
    if (session && !(await verifyCsrf(services, request, params.get('csrf')))) return sendFormExpired(reply);
    const raw = params.get('request') ?? '';
    const v = await validateAuthorizationRequest(services.ctx, raw);
    if (v.kind !== 'ok') return sendValidationFailure(services, reply, v, 303);
    // Signed out meanwhile (another tab): the request shows the sign-in form, whatever was chosen.
    if (session && choice === 'other') await signOut(services, request, reply);
    return redirect(reply, `${AUTHORIZE_QUERY}${raw}`, 303);
  });

  app.post('/oauth/authorize/decision', async (request, reply) => {
    try {
      const params = readPageForm(request, reply);
      if (!params) return reply;
      const session = await getSession(services, request);
      if (!session)
        return sendPage(
          reply,
          401,
          MessagePage({
            title: 'Signed out',
            message: 'Your session has ended. Go back to the app and start again.',
          }),
        );
      if (!(await verifyCsrf(services, request, params.get('csrf')))) return sendFormExpired(reply);
      const v = await validateAuthorizationRequest(services.ctx, params.get('request') ?? '');
      if (v.kind !== 'ok') return sendValidationFailure(services, reply, v, 303);
      const signedIn = { user: session.user, authTime: session.createdAt, sid: session.sid };
      // The consent form lists each scope with a checkbox (`consent_scope:<name>`) and says so with
      // `per_scope`; a form without it (an older page) consents to every scope asked for.
      const chosen = params.has('per_scope')
        ? new Set(v.request.scope.filter((s) => params.has(`consent_scope:${s}`)))
        : undefined;
      const outcome = await decideConsent(deps, v.request, signedIn, params.get('decision'), chosen);
      return redirect(reply, outcome.location, 303);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      request.log.error({ err }, 'authorization decision failed');
      return sendPage(
        reply,
        500,
        MessagePage({
          title: 'Something went wrong',
          message: 'Something went wrong on our side. Try again.',
        }),
      );
    }
  });
}
