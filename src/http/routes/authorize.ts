import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfToken, getSession, type Session, verifyCsrf } from '../../auth/session.js';
import {
  authorizationProblem,
  consentCovers,
  consentedScopes,
  createAuthorizationCode,
  rememberConsent,
} from '../../domain/grants.js';
import {
  type AuthorizationRequest,
  type AuthorizeValidation,
  errorRedirect,
  redirectTo,
  validateAuthorizationRequest,
} from '../../oauth/authorize.js';
import { AccessDenied, OAuthError } from '../../oauth/errors.js';
import { parseParams } from '../../oauth/form.js';
import type { Services } from '../../services.js';
import { type AppSummary, ConsentPage, LoginPage, MessagePage } from '../../web/pages.js';
import { sendPage } from '../../web/render.js';
import { allowFormRedirectTo } from '../security-headers.js';

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

/**
 * After validation and sign-in: refuse users who may not authorize this app, skip consent when it is
 * remembered (confidential clients only), else show the consent page.
 */
async function proceed(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  req: AuthorizationRequest,
  session: Session,
): Promise<FastifyReply> {
  const issuer = services.config.issuer;
  const problem = authorizationProblem(req.app, session.user);
  // prompt=none must never show a page (OIDC Core §3.1.2.1): the refusal goes straight back to the client.
  if (problem && req.prompt === 'none')
    return redirect(
      reply,
      errorRedirect(
        req.redirectUri,
        issuer,
        new AccessDenied('The user may not authorize this app.'),
        req.state,
      ),
      302,
    );
  if (problem) {
    // Otherwise the user learns why, and the link returns to the app with access_denied (RFC 6749 §4.1.2.1).
    return sendPage(
      reply,
      403,
      MessagePage({
        title: 'You can’t use this app',
        message: problem,
        app: appSummary(req),
        link: {
          href: errorRedirect(
            req.redirectUri,
            issuer,
            new AccessDenied('The user may not authorize this app.'),
            req.state,
          ),
          label: `Return to ${req.app.name}`,
        },
      }),
    );
  }
  // A public client can't prove who it is, so its consent is never remembered (RFC 9700 §4.1.x / OAuth 2.1 §7.x).
  const remembered =
    req.app.client_type === 'confidential' &&
    req.prompt !== 'consent' &&
    consentCovers(await consentedScopes(services.ctx, session.user.id, req.app.id), req.scope);
  if (remembered) {
    const code = await createAuthorizationCode(services.ctx, {
      app: req.app,
      user: session.user,
      scope: req.scope,
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      authTime: session.createdAt,
    });
    return redirect(reply, redirectTo(req.redirectUri, issuer, { code, state: req.state }), 302);
  }
  if (req.prompt === 'none')
    return redirect(
      reply,
      redirectTo(req.redirectUri, issuer, { error: 'consent_required', state: req.state }),
      302,
    );
  const rows = req.scope.length
    ? await services.ctx.db
        .selectFrom('scopes')
        .select(['name', 'description'])
        .where('name', 'in', req.scope)
        .execute()
    : [];
  const text = new Map(rows.map((r) => [r.name, r.description]));
  allowFormRedirectTo(reply, req.redirectUri);
  return sendPage(
    reply,
    200,
    ConsentPage({
      csrf: await csrfToken(services, request, reply),
      request: req.raw,
      app: appSummary(req),
      user: session.user,
      scopes: req.scope.map((s) => ({ name: s, description: text.get(s) ?? s })),
      tenantName:
        (
          await services.ctx.db
            .selectFrom('tenants')
            .select('name')
            .where('id', '=', session.user.tenant_id)
            .executeTakeFirst()
        )?.name ?? '',
    }),
  );
}

/**
 * The authorization endpoint (RFC 6749 §3.1, OAuth 2.1, RFC 9700, RFC 9207): GET /oauth/authorize, and the
 * consent form's POST /oauth/authorize/decision. Every failure ends as an HTML page or a redirect to the
 * client; nothing here answers with JSON or a 500.
 */
export async function authorizeRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const issuer = services.config.issuer;

  app.get('/oauth/authorize', async (request, reply) => {
    try {
      const v = await validateAuthorizationRequest(services.ctx, rawQuery(request.url));
      if (v.kind !== 'ok') return sendValidationFailure(services, reply, v, 302);
      const req = v.request;
      const session = await getSession(services, request);
      if (!session || req.prompt === 'login') {
        if (req.prompt === 'none')
          return redirect(
            reply,
            redirectTo(req.redirectUri, issuer, { error: 'login_required', state: req.state }),
            302,
          );
        // prompt=login is honoured once: the login form returns to the request without it.
        const returnTo = req.prompt === 'login' ? `/oauth/authorize?${stripPrompt(req.raw)}` : request.url;
        allowFormRedirectTo(reply, req.redirectUri);
        return sendPage(
          reply,
          200,
          LoginPage({ csrf: await csrfToken(services, request, reply), returnTo, app: appSummary(req) }),
        );
      }
      return await proceed(services, request, reply, req, session);
    } catch (err) {
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
  });

  app.post('/oauth/authorize/decision', async (request, reply) => {
    try {
      let params: ReturnType<typeof parseParams>;
      try {
        params = parseParams(typeof request.body === 'string' ? request.body : '');
      } catch (err) {
        const message = err instanceof OAuthError ? err.description : 'The form could not be read.';
        return sendPage(reply, 400, MessagePage({ title: 'Invalid form', message }));
      }
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
      if (!(await verifyCsrf(services, request, params.get('csrf'))))
        return sendPage(
          reply,
          403,
          MessagePage({
            title: 'Form expired',
            message:
              'This form is out of date or was not sent from Clavis. Go back to the app and try again.',
          }),
        );
      const v = await validateAuthorizationRequest(services.ctx, params.get('request') ?? '');
      if (v.kind !== 'ok') return sendValidationFailure(services, reply, v, 303);
      const req = v.request;
      const problem = authorizationProblem(req.app, session.user);
      const decision = params.get('decision');
      if (problem || decision !== 'allow') {
        const error = new AccessDenied(
          problem ? 'The user may not authorize this app.' : 'The user denied the request.',
        );
        return redirect(reply, errorRedirect(req.redirectUri, issuer, error, req.state), 303);
      }
      if (req.app.client_type === 'confidential')
        await rememberConsent(services.ctx, session.user.id, req.app.id, req.scope);
      const code = await createAuthorizationCode(services.ctx, {
        app: req.app,
        user: session.user,
        scope: req.scope,
        redirectUri: req.redirectUri,
        codeChallenge: req.codeChallenge,
        authTime: session.createdAt,
      });
      return redirect(reply, redirectTo(req.redirectUri, issuer, { code, state: req.state }), 303);
    } catch (err) {
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

function stripPrompt(raw: string): string {
  return raw
    .split('&')
    .filter((p) => !p.startsWith('prompt='))
    .join('&');
}
