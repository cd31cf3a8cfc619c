import type { FastifyInstance } from 'fastify';
import { createSession, csrfToken, getSession, verifyCsrf } from '../../auth/session.js';
import { SignupThrottle } from '../../auth/signup-throttle.js';
import { completeSignup, emailLinkUsable, type LinkBuilder, startSignup } from '../../domain/email-links.js';
import { DomainError } from '../../domain/errors.js';
import { mailEnabled } from '../../domain/mail.js';
import { createSandbox, type Sandbox } from '../../domain/sandbox.js';
import { passwordProblem } from '../../domain/users.js';
import type { Services } from '../../services.js';
import { duration } from '../../web/date-format.js';
import { flashStatus, redirectWithFlash, takeFlash } from '../../web/form-flash.js';
import { Layout } from '../../web/layout.js';
import { hubNav } from '../../web/nav.js';
import { sendPage } from '../../web/render.js';
import { emailProblem, Form, noStore, seeOther } from '../context.js';
import { Alert, CopyButton, Csrf, Field } from '../ui/components.js';

interface SignupValues {
  name: string;
  email: string;
}

function SignupPage(p: {
  csrf: string;
  values: SignupValues;
  errors: Record<string, string>;
  formError?: string;
}) {
  return (
    <Layout title="Create a developer account" narrow>
      <div class="card">
        <div class="auth-hero">
          <h1>Create your developer sandbox</h1>
          <p class="muted">
            You get a tenant of your own where you are the admin, and a test user to try your apps' sign-in
            flow.
          </p>
        </div>
        {p.formError ? <Alert kind="error">{p.formError}</Alert> : null}
        <form method="post" action="/signup" novalidate>
          <Csrf token={p.csrf} />
          <Field
            name="name"
            label="Your name"
            value={p.values.name}
            error={p.errors.name}
            required
            autocomplete="name"
            autofocus
          />
          <Field
            name="email"
            label="Email address"
            type="email"
            value={p.values.email}
            error={p.errors.email}
            required
            autocomplete="email"
          />
          <Field
            name="password"
            label="Password"
            type="password"
            error={p.errors.password}
            required
            autocomplete="new-password"
            hint="At least 10 characters."
          />
          <button type="submit" class="btn btn-primary btn-block">
            Create account
          </button>
        </form>
        <p class="auth-switch muted">
          Already have an account? <a href="/login?return_to=%2F">Sign in</a>
        </p>
      </div>
    </Layout>
  );
}

function SandboxReadyPage({ sandbox, csrf }: { sandbox: Sandbox; csrf: string }) {
  // The developer is signed in now: the usual navigation and sign-out, around a narrow column.
  return (
    <Layout
      title="Your sandbox is ready"
      narrow
      enhance
      user={sandbox.user}
      csrf={csrf}
      nav={hubNav(sandbox.user.role)}
    >
      <div class="card">
        <h1>Your sandbox is ready</h1>
        <p>
          <strong>{sandbox.tenant.name}</strong> is your own tenant: you are its admin, so you can register
          apps, change its settings and add users.
        </p>
        <h2>Your test user</h2>
        <p class="muted small">
          Sign in as this user when you try your app's authorization flow. The password is shown only now;
          copy it to a password manager.
        </p>
        <dl class="kv">
          <dt>Email</dt>
          <dd>
            <span class="mono" id="test-user-email">
              {sandbox.testUser.email}
            </span>
          </dd>
        </dl>
        <label for="test-user-password">Password</label>
        <div class="secret-box">
          <input id="test-user-password" type="text" readonly value={sandbox.testUserPassword} data-secret />
          <CopyButton target="test-user-password" label="test user password" />
        </div>
        <Alert kind="warn">This password will not be shown again.</Alert>
        <a class="btn btn-primary btn-block" href="/apps">
          Continue to your apps
        </a>
      </div>
    </Layout>
  );
}

/** The same answer whether the address is new or has an account already (no enumeration). */
function CheckInboxPage({ email }: { email: string }) {
  return (
    <Layout title="Check your inbox" narrow>
      <div class="card">
        <h1>Check your inbox</h1>
        <p>
          We sent a mail to <strong>{email}</strong>. Follow the link in it to finish creating your account.
        </p>
        <p class="muted small">
          Nothing arrived after a few minutes? Check your spam folder, or sign up again to get a new link.
        </p>
        <a class="btn" href="/login">
          Sign in
        </a>
      </div>
    </Layout>
  );
}

const BAD_SIGNUP_LINK =
  'This confirmation link is not valid: it was used already, has expired (links last a day), or is incomplete.';

function ConfirmSignupPage(p: { csrf: string; token: string; usable: boolean; error?: string }) {
  return (
    <Layout title="Confirm your account" narrow>
      <div class="card">
        <h1>Confirm your account</h1>
        {p.error ? <Alert kind="error">{p.error}</Alert> : null}
        {p.usable ? (
          <>
            <p>Your address is confirmed once you create the account.</p>
            <form method="post" action="/signup/verify">
              <Csrf token={p.csrf} />
              <input type="hidden" name="token" value={p.token} />
              <button type="submit" class="btn btn-primary btn-block">
                Create my account
              </button>
            </form>
          </>
        ) : (
          <p>
            Already confirmed? <a href="/login">Sign in</a>. Otherwise <a href="/signup">sign up again</a> to
            get a new link.
          </p>
        )}
      </div>
    </Layout>
  );
}

/** Absolute links into this server for mails. */
export function mailLinks(services: Services): LinkBuilder {
  const base = services.config.issuer;
  return {
    verify: (token) => `${base}/signup/verify?token=${encodeURIComponent(token)}`,
    reset: (token) => `${base}/login/reset?token=${encodeURIComponent(token)}`,
    login: `${base}/login`,
    forgot: `${base}/login/forgot`,
  };
}

function SignupClosed() {
  return (
    <Layout title="Sign-up is closed" narrow>
      <div class="card">
        <h1>Sign-up is closed</h1>
        <p class="muted">
          This server does not take new sign-ups. Ask an administrator to create an account for you.
        </p>
        <a class="btn" href="/login">
          Sign in
        </a>
      </div>
    </Layout>
  );
}

/**
 * Public sign-up (unless CLAVIS_SIGNUP_ENABLED=false): creates a developer sandbox and signs the user in.
 * Sign-ups are limited per source address and overall per hour ({@link SignupThrottle}), checked before the
 * password is hashed; a refused one gets the form back with 429 and `Retry-After`. Failed forms answer 303 to
 * their page, which shows the errors once (src/web/form-flash.ts).
 */
export async function signupRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/signup', async (request, reply) => {
    if (!services.config.signupEnabled) return sendPage(reply, 404, SignupClosed());
    const flash = takeFlash(services, request);
    if (flash?.done)
      return sendPage(noStore(reply), 200, CheckInboxPage({ email: flash.values?.email ?? '' }));
    if (await getSession(services, request)) return seeOther(reply, '/');
    const csrf = await csrfToken(services, request, reply);
    return sendPage(
      reply,
      flashStatus(services, reply, flash),
      SignupPage({
        csrf,
        values: { name: flash?.values?.name ?? '', email: flash?.values?.email ?? '' },
        errors: flash?.fields ?? {},
        formError: flash?.error,
      }),
    );
  });

  app.post('/signup', async (request, reply) => {
    if (!services.config.signupEnabled) return sendPage(reply, 404, SignupClosed());
    const form = Form.of(request);
    const values = { name: form.get('name').slice(0, 200), email: form.get('email').slice(0, 320) };
    // Redirect after POST, failures included: /signup shows the errors once with the name and email typed
    // (never the password), answered with the status this POST would have had (see flashStatus).
    const again = (status: number, errors: Record<string, string>, formError?: string, retryAt?: number) =>
      redirectWithFlash(services, request, reply, '/signup', {
        status,
        fields: errors,
        error: formError,
        values,
        retryAt,
      });
    if (!(await verifyCsrf(services, request, form.get('csrf') || undefined, { preSession: true })))
      return again(
        403,
        {},
        'The form expired or was not sent from this site. Check your details and send it again.',
      );
    const password = form.get('password').slice(0, 300);
    // Every field is checked before the sandbox is created, so all problems are reported at once.
    const errors: Record<string, string> = {};
    if (!values.name.trim()) errors.name = 'Enter your name.';
    if (!values.email.trim()) errors.email = 'Enter your email address.';
    else {
      const problem = emailProblem(values.email);
      if (problem) errors.email = problem;
    }
    if (!password) errors.password = 'Choose a password.';
    else {
      const problem = passwordProblem(password);
      if (problem) errors.password = problem;
    }
    if (Object.keys(errors).length) return again(400, errors);
    const decision = services.auth.signupThrottle.take(request.ip);
    if (decision.kind === 'wait') {
      // RFC 6585 §4 / RFC 9110 §10.2.3: 429 with Retry-After, on the form with what was typed.
      const seconds = Math.max(1, Math.ceil((decision.until - services.ctx.now()) / 1000));
      return again(
        429,
        {},
        decision.reason === 'address'
          ? `Too many accounts were created from your network recently. Try again in ${duration(seconds)}.`
          : `Too many accounts were created on this server recently. Try again in ${duration(seconds)}.`,
        decision.until,
      );
    }
    if (mailEnabled(services.ctx)) {
      // With mail, the account is created when the address is confirmed; a taken address is told by mail,
      // and this page says the same in both cases.
      try {
        await startSignup(
          services.ctx,
          { name: values.name, email: values.email, password },
          mailLinks(services),
        );
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        return again(400, e.fields, Object.keys(e.fields).length ? undefined : e.message);
      }
      // A reload of "check your inbox" must not send another mail: it is shown by a GET too.
      return redirectWithFlash(services, request, reply, '/signup', {
        status: 200,
        done: true,
        values: { email: values.email.trim() },
      });
    }
    let sandbox: Sandbox;
    try {
      sandbox = await createSandbox(services.ctx, { name: values.name, email: values.email, password });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      if (e.code === 'conflict')
        return again(409, { email: 'An account with this email address already exists. Sign in instead.' });
      return again(
        400,
        Object.keys(e.fields).length ? e.fields : {},
        Object.keys(e.fields).length ? undefined : e.message,
      );
    }
    const csrf = await createSession(services, reply, sandbox.user.id);
    return sendPage(noStore(reply), 201, SandboxReadyPage({ sandbox, csrf }));
  });

  app.get('/signup/verify', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const token = typeof q.token === 'string' ? q.token.slice(0, 200) : '';
    // A page with a button, not an action on GET: mail scanners that open links must not use it up. A link
    // that can no longer be used says so at once (as the reset link does), without the button.
    const usable = await emailLinkUsable(services.ctx, 'verify_email', token);
    const csrf = await csrfToken(services, request, reply);
    const flash = takeFlash(services, request);
    return sendPage(
      noStore(reply),
      flashStatus(services, reply, flash, usable ? 200 : 400),
      ConfirmSignupPage({
        csrf,
        token,
        usable,
        error: flash?.error ?? (usable ? undefined : BAD_SIGNUP_LINK),
      }),
    );
  });

  app.post('/signup/verify', async (request, reply) => {
    const form = Form.of(request);
    const token = form.get('token').slice(0, 200);
    // Failures go back to the page the mail's link opened (the token is in its address, as it was there;
    // the flash holds only the message).
    const again = (status: number, error: string) =>
      redirectWithFlash(services, request, reply, `/signup/verify?token=${encodeURIComponent(token)}`, {
        status,
        error,
      });
    if (!(await verifyCsrf(services, request, form.get('csrf') || undefined, { preSession: true })))
      return again(403, 'The form expired or was not sent from this site. Try again.');
    let sandbox: Sandbox;
    try {
      sandbox = await completeSignup(services.ctx, token);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return again(e.code === 'conflict' ? 409 : 400, e.message);
    }
    const csrf = await createSession(services, reply, sandbox.user.id);
    return sendPage(noStore(reply), 201, SandboxReadyPage({ sandbox, csrf }));
  });

  app.get('/', async (request, reply) => {
    const session = await getSession(services, request);
    if (!session) return seeOther(reply, '/login?return_to=%2F');
    return seeOther(reply, session.user.role === 'user' ? '/account/connected-apps' : '/apps');
  });
}
