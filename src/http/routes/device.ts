import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfToken, getSession, type Session, verifyCsrf } from '../../auth/session.js';
import { getAppByClientId } from '../../domain/apps.js';
import {
  decideDeviceCode,
  findPendingUserCode,
  formatUserCode,
  normalizeUserCode,
  type StoredDeviceCode,
} from '../../domain/device-codes.js';
import { authorizationProblem } from '../../domain/grants.js';
import { getTenant } from '../../domain/tenants.js';
import { deviceScopeGroups, VERIFICATION_PATH } from '../../oauth/device-authorization.js';
import { parseParams } from '../../oauth/form.js';
import { UserCodeThrottle } from '../../oauth/user-code-throttle.js';
import type { Services } from '../../services.js';
import { duration } from '../../web/date-format.js';
import { DeviceCodePage, DeviceConfirmPage, DeviceDonePage } from '../../web/device-pages.js';
import { flashStatus, redirectWithFlash, takeFlash } from '../../web/form-flash.js';
import { LoginPage, MessagePage } from '../../web/pages.js';
import { sendPage } from '../../web/render.js';
import { appSummary } from './authorize.js';
import { safeReturnTo } from './login.js';

const INVALID_CODE =
  'That code is not valid: check it against your device. It may also have expired or been used already; then start again on the device.';

function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).header('cache-control', 'no-store').send();
}

function query(request: FastifyRequest, name: string): string | undefined {
  const v = (request.query as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The device verification page (RFC 8628 §3.3) at `/device`: sign in (the hub's sign-in, returning here),
 * type the code, or arrive with it in `verification_uri_complete`; see the app and its scopes; allow or deny
 * (a POST with CSRF, answered with a redirect, failures included). Wrong codes are throttled per session and per address
 * ({@link UserCodeThrottle}, in memory on each node).
 */
export async function deviceRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { ctx } = services;
  const throttle = new UserCodeThrottle(undefined, ctx.now);

  /** The entry form again, with an error (429 with Retry-After while throttled). */
  async function codeForm(
    request: FastifyRequest,
    reply: FastifyReply,
    session: Session,
    status: number,
    options: { userCode?: string; error?: string } = {},
  ): Promise<FastifyReply> {
    return sendPage(
      reply,
      status,
      DeviceCodePage({
        user: session.user,
        csrf: await csrfToken(services, request, reply),
        userCode: options.userCode,
        error: options.error,
      }),
    );
  }

  /**
   * Redirect after the decision's POST, failures included: 303 to the page, which shows `error` once (on the
   * entry form, or on the sign-in form when signed out) with the status this POST would have answered.
   */
  function back(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    error: string,
    userCode?: string,
    retryAt?: number,
  ): FastifyReply {
    return redirectWithFlash(services, request, reply, VERIFICATION_PATH, {
      status,
      error,
      retryAt,
      values: userCode === undefined ? undefined : { user_code: userCode.slice(0, 20) },
    });
  }

  /**
   * Looks a typed user code up, under the throttle: a throttled session or address is answered 429 without
   * the code being checked, and every code that is not pending counts as a failure, answered with the entry
   * form (after a GET) or a redirect to it (after the decision's POST).
   *
   * @returns the pending code, or `{ answer }`: the reply to return from the handler. The reply is wrapped
   *   because a Fastify reply is a thenable: an async function returning it bare would resolve to
   *   `undefined` once the response is sent, not to the reply.
   */
  async function lookup(
    request: FastifyRequest,
    reply: FastifyReply,
    session: Session,
    typed: string,
  ): Promise<{ found: StoredDeviceCode } | { answer: FastifyReply | Promise<FastifyReply> }> {
    const wait = throttle.retryAfter(session.idHash, request.ip);
    if (wait > 0) {
      const error = `Too many wrong codes. Try again in ${duration(wait)}.`;
      if (request.method === 'POST')
        return { answer: back(request, reply, 429, error, typed, ctx.now() + wait * 1000) };
      reply.header('retry-after', String(wait));
      return { answer: codeForm(request, reply, session, 429, { userCode: typed.slice(0, 20), error }) };
    }
    const stored = await findPendingUserCode(ctx, typed);
    if (stored) return { found: stored };
    throttle.recordFailure(session.idHash, request.ip);
    if (request.method === 'POST') return { answer: seeOther(reply, `${VERIFICATION_PATH}?error=invalid`) };
    return {
      answer: codeForm(request, reply, session, 400, { userCode: typed.slice(0, 20), error: INVALID_CODE }),
    };
  }

  app.get(VERIFICATION_PATH, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const session = await getSession(services, request);
    const flash = takeFlash(services, request);
    if (!session)
      return sendPage(
        reply,
        flashStatus(services, reply, flash),
        LoginPage({
          csrf: await csrfToken(services, request, reply),
          returnTo: safeReturnTo(flash ? VERIFICATION_PATH : request.url),
          error: flash?.error,
        }),
      );
    if (flash)
      return codeForm(request, reply, session, flashStatus(services, reply, flash), {
        userCode: flash.values?.user_code,
        error: flash.error,
      });
    const done = query(request, 'done');
    if (done === 'approved' || done === 'denied')
      return sendPage(
        reply,
        200,
        DeviceDonePage({
          user: session.user,
          csrf: await csrfToken(services, request, reply),
          approved: done === 'approved',
        }),
      );
    if (query(request, 'error') === 'invalid')
      return codeForm(request, reply, session, 400, { error: INVALID_CODE });
    const typed = query(request, 'user_code');
    if (typed === undefined || typed.trim() === '') return codeForm(request, reply, session, 200);

    const looked = await lookup(request, reply, session, typed);
    if ('answer' in looked) return looked.answer;
    const { found } = looked;
    const client = await getAppByClientId(ctx, found.clientId);
    const problem = client ? authorizationProblem(client, session.user) : 'This app no longer exists.';
    if (!client || problem)
      return sendPage(reply, 403, MessagePage({ title: 'You can’t use this app', message: problem ?? '' }));
    const groups = await deviceScopeGroups(services.apis, found);
    if (!groups)
      return sendPage(
        reply,
        403,
        MessagePage({
          title: 'You can’t use this app',
          message: 'The API this device asked for no longer exists. Start again on the device.',
        }),
      );
    return sendPage(
      reply,
      200,
      DeviceConfirmPage({
        user: session.user,
        csrf: await csrfToken(services, request, reply),
        userCode: formatUserCode(normalizeUserCode(typed) as string),
        app: appSummary({ app: client, tenant: await getTenant(ctx, client.tenant_id) }),
        groups,
        tenantName: (await getTenant(ctx, session.user.tenant_id)).name,
      }),
    );
  });

  app.post(`${VERIFICATION_PATH}/decision`, async (request, reply) => {
    let params: ReturnType<typeof parseParams>;
    try {
      params = parseParams(typeof request.body === 'string' ? request.body : '');
    } catch {
      return back(request, reply, 400, 'The form could not be read. Enter the code again.');
    }
    const session = await getSession(services, request);
    if (!session)
      return back(
        request,
        reply,
        401,
        'Your session has ended. Sign in again and enter the code from your device.',
      );
    if (!(await verifyCsrf(services, request, params.get('csrf'))))
      return back(
        request,
        reply,
        403,
        'This form is out of date or was not sent from Clavis. Enter the code again.',
      );
    const looked = await lookup(request, reply, session, params.get('user_code') ?? '');
    if ('answer' in looked) return looked.answer;
    const { found } = looked;
    const client = await getAppByClientId(ctx, found.clientId);
    const problem = client ? authorizationProblem(client, session.user) : 'This app no longer exists.';
    if (!client || problem)
      return sendPage(reply, 403, MessagePage({ title: 'You can’t use this app', message: problem ?? '' }));
    const approve = params.get('decision') === 'allow';
    const decided = await decideDeviceCode(ctx, found, {
      approve,
      userId: session.user.id,
      authTime: session.createdAt,
      tenantId: session.user.tenant_id,
    });
    return seeOther(
      reply,
      decided
        ? `${VERIFICATION_PATH}?done=${approve ? 'approved' : 'denied'}`
        : `${VERIFICATION_PATH}?error=invalid`,
    );
  });
}
