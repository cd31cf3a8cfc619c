import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authFor, createSession, csrfToken, getSession, verifyCsrf } from '../../auth/session.js';
import type { LoginThrottle } from '../../auth/throttle.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../crypto/password.js';
import { mailEnabled } from '../../domain/mail.js';
import { findUserByEmail } from '../../domain/users.js';
import { validateAuthorizationRequest } from '../../oauth/authorize.js';
import { type Params, parseParams } from '../../oauth/form.js';
import type { Services } from '../../services.js';
import { duration } from '../../web/date-format.js';
import { flashStatus, redirectWithFlash, takeFlash } from '../../web/form-flash.js';
import { LoginPage, MessagePage } from '../../web/pages.js';
import { sendPage } from '../../web/render.js';
import type { Metrics } from '../metrics.js';
import { allowFormRedirectTo } from '../security-headers.js';
import { appSummary } from './authorize.js';
import { signOut } from './end-session.js';

/**
 * Where to go after signing in when nothing else was asked for: `/`, which sends each role to its own page
 * (admins and developers to their apps, users to their connected apps).
 */
export const DEFAULT_AFTER_LOGIN = '/';

function hasControlOrBackslash(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/** A same-origin path to return to after sign-in, or the default: never another origin (open redirect). */
export function safeReturnTo(raw: string | undefined): string {
  if (!raw || raw.length > 8192) return DEFAULT_AFTER_LOGIN;
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || hasControlOrBackslash(raw))
    return DEFAULT_AFTER_LOGIN;
  return raw;
}

function readForm(request: FastifyRequest): Params | null {
  try {
    return parseParams(typeof request.body === 'string' ? request.body : '');
  } catch {
    return null;
  }
}

/** The app context for a login page that is part of an authorization request (name, tenant, approval). */
async function appFor(services: Services, returnTo: string, reply?: FastifyReply) {
  if (!returnTo.startsWith('/oauth/authorize?')) return undefined;
  const v = await validateAuthorizationRequest(services.ctx, returnTo.slice('/oauth/authorize?'.length));
  if (v.kind !== 'ok') return undefined;
  // Signing in may end in a redirect to the app (consent remembered): let the form's redirects reach it.
  if (reply) allowFormRedirectTo(reply, v.request.redirectUri);
  return appSummary(v.request);
}

/**
 * Sign-in and sign-out. The login form carries a CSRF token bound to a pre-session cookie; a successful
 * sign-in starts a fresh session (no fixation) and answers 303 to a same-origin `return_to`; a failed one
 * answers 303 to the sign-in page, which shows the error once (src/web/form-flash.ts). Failures are
 * throttled by {@link LoginThrottle}: per (account, address) with growing delays, per address by distinct
 * accounts; an account under attack is slowed, never locked. Throttled attempts are counted in `metrics`.
 */
export async function loginRoutes(app: FastifyInstance, services: Services, metrics: Metrics): Promise<void> {
  app.get('/login', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const returnTo = safeReturnTo(typeof q.return_to === 'string' ? q.return_to : undefined);
    const flash = takeFlash(services, request);
    // A failed sign-in of a signed-in user (prompt=login, max_age) shows its error rather than moving on.
    if (!flash && (await getSession(services, request)))
      return reply.code(303).header('location', returnTo).send();
    return sendPage(
      reply,
      flashStatus(services, reply, flash),
      LoginPage({
        csrf: await csrfToken(services, request, reply, { preSession: true }),
        returnTo,
        email: flash?.values?.email,
        error: flash?.error,
        app: await appFor(services, returnTo, reply),
        signup: services.config.signupEnabled,
        forgot: mailEnabled(services.ctx),
        notice: q.reset === 'done' ? 'Your password was changed. Sign in with the new one.' : undefined,
      }),
    );
  });

  app.post('/login', async (request, reply) => {
    const form = readForm(request);
    const returnTo = safeReturnTo(form?.get('return_to'));
    const email = (form?.get('email') ?? '').slice(0, 320);
    // Redirect after POST, failures included: the sign-in page shows the error once, with the email typed
    // (never the password) and the same status (401, 429 with Retry-After: see flashStatus).
    const again = (status: number, error: string, retryAt?: number): FastifyReply =>
      redirectWithFlash(services, request, reply, `/login?return_to=${encodeURIComponent(returnTo)}`, {
        status,
        error,
        retryAt,
        values: { email },
      });
    if (!form) return again(400, 'The form could not be read. Try again.');
    if (!(await verifyCsrf(services, request, form.get('csrf'), { preSession: true })))
      return again(403, 'The sign-in form expired or was not sent from this site. Try again.');
    const password = form.get('password') ?? '';
    if (!email || !password) return again(400, 'Enter your email address and password.');

    const throttle = authFor(services).throttle;
    const ip = request.ip;
    const decision = await throttle.check(email, ip);
    if (decision.kind === 'wait') {
      metrics.loginThrottled.inc({ reason: decision.reason });
      // RFC 6585 §4 / RFC 9110 §10.2.3: 429 with Retry-After, on a page that still lets the user try again.
      const seconds = Math.max(1, Math.ceil((decision.until - services.ctx.now()) / 1000));
      return again(
        429,
        `Too many failed sign-in attempts. Try again in ${duration(seconds)}.`,
        decision.until,
      );
    }
    if (decision.pauseMs > 0) {
      metrics.loginThrottled.inc({ reason: 'account_slowed' });
      await sleep(decision.pauseMs);
    }
    const user = await findUserByEmail(services.ctx, email);
    // Unknown users cost one scrypt too, so timing does not reveal which emails exist.
    const ok = await verifyPassword(password.slice(0, 200), user?.password_hash ?? DUMMY_PASSWORD_HASH);
    if (!user || !ok || user.disabled_at !== null) {
      await throttle.recordFailure(email, ip);
      return again(
        401,
        user && ok ? 'This account is disabled.' : 'The email address or password is not correct.',
      );
    }
    await throttle.recordSuccess(email, ip);
    await createSession(services, reply, user.id);
    return reply.code(303).header('location', returnTo).header('cache-control', 'no-store').send();
  });

  app.post('/logout', async (request, reply) => {
    const form = readForm(request);
    if (!form || !(await verifyCsrf(services, request, form.get('csrf'))))
      return sendPage(
        reply,
        403,
        MessagePage({
          title: 'Form expired',
          message: 'The sign-out form is out of date. Reload the page and try again.',
        }),
      );
    await signOut(services, request, reply);
    return reply.code(303).header('location', '/login').header('cache-control', 'no-store').send();
  });
}
