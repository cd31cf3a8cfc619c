import type { FastifyInstance } from 'fastify';
import { csrfToken, verifyCsrf } from '../../auth/session.js';
import { emailLinkUsable, requestPasswordReset, resetPassword } from '../../domain/email-links.js';
import { DomainError } from '../../domain/errors.js';
import { mailEnabled } from '../../domain/mail.js';
import type { Services } from '../../services.js';
import { duration } from '../../web/date-format.js';
import { flashStatus, redirectWithFlash, takeFlash } from '../../web/form-flash.js';
import { Layout } from '../../web/layout.js';
import { sendPage } from '../../web/render.js';
import { Form, noStore, seeOther } from '../context.js';
import { Alert, Csrf, Field } from '../ui/components.js';
import { mailLinks } from './signup.js';

function ForgotPage(p: { csrf: string; email: string; sent?: boolean; error?: string; noMail?: boolean }) {
  return (
    <Layout title="Reset your password" narrow>
      <div class="card">
        <h1>Reset your password</h1>
        {p.noMail ? (
          <Alert kind="warn">
            This server sends no mail (no SMTP server is configured), so passwords cannot be reset by mail.
            Ask an administrator to set a new password for you.
          </Alert>
        ) : p.sent ? (
          <Alert kind="ok">
            If an account uses {p.email}, a link to choose a new password is on its way. It works once, for 30
            minutes.
          </Alert>
        ) : (
          <form method="post" action="/login/forgot" novalidate>
            {p.error ? <Alert kind="error">{p.error}</Alert> : null}
            <Csrf token={p.csrf} />
            <Field
              name="email"
              label="Email address"
              type="email"
              value={p.email}
              required
              autocomplete="email"
              autofocus
            />
            <button type="submit" class="btn btn-primary btn-block">
              Send me a link
            </button>
          </form>
        )}
        <p class="auth-switch muted">
          <a href="/login">Back to sign-in</a>
        </p>
      </div>
    </Layout>
  );
}

function ResetPage(p: {
  csrf: string;
  token: string;
  error?: string;
  passwordError?: string;
  usable: boolean;
}) {
  return (
    <Layout title="Choose a new password" narrow>
      <div class="card">
        <h1>Choose a new password</h1>
        {p.error ? <Alert kind="error">{p.error}</Alert> : null}
        {p.usable ? (
          <form method="post" action="/login/reset" novalidate>
            <Csrf token={p.csrf} />
            <input type="hidden" name="token" value={p.token} />
            <Field
              name="password"
              label="New password"
              type="password"
              error={p.passwordError}
              required
              autocomplete="new-password"
              hint="At least 10 characters. You are signed out everywhere once it is set."
            />
            <button type="submit" class="btn btn-primary btn-block">
              Set the new password
            </button>
          </form>
        ) : (
          <p>
            <a class="btn" href="/login/forgot">
              Get a new link
            </a>
          </p>
        )}
      </div>
    </Layout>
  );
}

const BAD_LINK =
  'This link is not valid: it was used already, has expired (links last 30 minutes), or is incomplete.';

/**
 * "Forgot password": a form that mails a single-use reset link (and answers the same whether the address
 * has an account), and the page the link opens, which sets a new password and signs the user out
 * everywhere. Without mail configured the page says so. Requests are limited per source address like
 * sign-ups.
 */
export async function passwordResetRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/login/forgot', async (request, reply) => {
    const csrf = await csrfToken(services, request, reply);
    const flash = takeFlash(services, request);
    return sendPage(
      reply,
      flashStatus(services, reply, flash),
      ForgotPage({
        csrf,
        email: flash?.values?.email ?? '',
        error: flash?.error,
        sent: flash?.done,
        noMail: !mailEnabled(services.ctx),
      }),
    );
  });

  app.post('/login/forgot', async (request, reply) => {
    const form = Form.of(request);
    const email = form.get('email').slice(0, 320).trim();
    // Redirect after POST, the confirmation included (a reload must not send another mail): the GET shows
    // the outcome once, with the email typed.
    const again = (status: number, error: string, retryAt?: number) =>
      redirectWithFlash(services, request, reply, '/login/forgot', {
        status,
        error,
        retryAt,
        values: { email },
      });
    if (!mailEnabled(services.ctx))
      return sendPage(reply, 404, ForgotPage({ csrf: '', email, noMail: true }));
    if (!(await verifyCsrf(services, request, form.get('csrf') || undefined, { preSession: true })))
      return again(403, 'The form expired or was not sent from this site. Send it again.');
    if (!email) return again(400, 'Enter your email address.');
    const decision = services.auth.signupThrottle.take(request.ip);
    if (decision.kind === 'wait') {
      const seconds = Math.max(1, Math.ceil((decision.until - services.ctx.now()) / 1000));
      return again(
        429,
        `Too many requests from your network. Try again in ${duration(seconds)}.`,
        decision.until,
      );
    }
    await requestPasswordReset(services.ctx, email, mailLinks(services));
    return redirectWithFlash(services, request, reply, '/login/forgot', {
      status: 200,
      done: true,
      values: { email },
    });
  });

  app.get('/login/reset', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const token = typeof q.token === 'string' ? q.token.slice(0, 200) : '';
    const usable = await emailLinkUsable(services.ctx, 'reset_password', token);
    const csrf = await csrfToken(services, request, reply);
    const flash = takeFlash(services, request);
    return sendPage(
      noStore(reply),
      flashStatus(services, reply, flash, usable ? 200 : 400),
      ResetPage({
        csrf,
        token,
        usable,
        error: usable ? flash?.error : BAD_LINK,
        passwordError: flash?.fields?.password,
      }),
    );
  });

  app.post('/login/reset', async (request, reply) => {
    const form = Form.of(request);
    const token = form.get('token').slice(0, 200);
    // Failures go back to the page the mail's link opened (the token is in its address, as it was there;
    // the flash holds only the messages), which checks the link again: a used or expired one says so.
    const again = (flash: { error?: string; fields?: Record<string, string> }) =>
      redirectWithFlash(services, request, reply, `/login/reset?token=${encodeURIComponent(token)}`, {
        status: 400,
        ...flash,
      });
    if (!(await verifyCsrf(services, request, form.get('csrf') || undefined, { preSession: true })))
      return redirectWithFlash(services, request, reply, `/login/reset?token=${encodeURIComponent(token)}`, {
        status: 403,
        error: 'The form expired or was not sent from this site. Try again.',
      });
    try {
      await resetPassword(services.ctx, token, form.get('password').slice(0, 300));
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      if (e.fields.password) return again({ fields: { password: e.fields.password } });
      return again({ error: BAD_LINK });
    }
    return seeOther(reply, '/login?reset=done');
  });
}
