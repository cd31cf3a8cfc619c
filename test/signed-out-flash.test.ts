import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFor } from '../src/auth/session.js';
import type { App } from '../src/domain/apps.js';
import { Browser, type Page, parseForms } from './helpers/browser.js';
import { pkceAuthUrl } from './helpers/flow.js';
import { createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * Redirect after POST for the forms outside the signed-in hub, failures included: a failed sign-in,
 * sign-up or device decision answers 303 to its form page; that GET shows the error once, to the browser
 * that posted, with the status the POST used to answer (401, 403, 429 + Retry-After); a reload shows the
 * clean form and posts nothing. (Mail-backed forms, forgot/reset password and the sign-up link, are covered
 * in signup-mail.test.ts.)
 */
let ts: TestServer;
let user: TestUser;
let conf: { app: App; secret: string | null };

beforeAll(async () => {
  ts = await startTestServer();
  user = await createUser(ts);
  conf = await createTestApp(ts, { name: 'Flash Sync', callback_url: 'https://app.example/cb' });
});
afterAll(async () => ts?.close());

const hasError = (html: string) => /class="alert alert-error"|class="[^"]*field-error/.test(html);

/** Checks the 303 of a failed form and returns the page its GET shows. */
async function followFailure(b: Browser, posted: Page, page: RegExp): Promise<Page> {
  expect(posted.status).toBe(303);
  expect(posted.html).toBe('');
  expect(posted.headers.get('cache-control')).toBe('no-store');
  expect(posted.location).toMatch(page);
  expect(posted.location).toMatch(/[?&]flash=[A-Za-z0-9_-]{20,}$/);
  expect(posted.headers.getSetCookie().some((c) => c.startsWith('clavis_session='))).toBe(false);
  const shown = await b.get(posted.location!);
  expect(shown.headers.get('cache-control')).toBe('no-store');
  return shown;
}

describe('sign-in', () => {
  it('a wrong password: 303, the error once with 401 and the email typed, never the password', async () => {
    const b = new Browser(ts.url);
    const posted = await b.submit(await b.get('/login'), '/login', {
      email: user.email,
      password: 'wrong password 12345',
    });
    const shown = await followFailure(b, posted, /^\/login\?return_to=%2F&/);
    expect(shown.status).toBe(401);
    expect(shown.html).toContain('The email address or password is not correct.');
    const form = parseForms(shown.html).find((f) => f.action === '/login')!;
    expect(form.fields.email).toBe(user.email);
    expect(form.fields.password).toBe('');
    expect(form.fields.csrf).toBeTruthy();
    expect(shown.html).not.toContain('wrong password 12345');
    // Once: a reload is the clean sign-in page (200, no error, nothing posted).
    const reload = await b.get(posted.location!);
    expect(reload.status).toBe(200);
    expect(hasError(reload.html)).toBe(false);
    expect(reload.html).not.toContain(user.email);
    // The form shown with the error works: the right password signs in.
    const ok = await b.submit(shown, '/login', { password: user.password });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/');
  });

  it('is shown only to the browser that posted', async () => {
    const b = new Browser(ts.url);
    const posted = await b.submit(await b.get('/login'), '/login', {
      email: user.email,
      password: 'wrong password 12345',
    });
    expect(posted.status).toBe(303);
    // Another browser with the URL (and its own pre-session cookie, or none) sees the clean page.
    const stranger = new Browser(ts.url);
    const seen = await stranger.get(posted.location!);
    expect(seen.status).toBe(200);
    expect(hasError(seen.html)).toBe(false);
    expect(seen.html).not.toContain(user.email);
    await stranger.get('/login');
    expect((await stranger.get(posted.location!)).status).toBe(200);
    // ... and that did not use it up for its own browser.
    const own = await b.get(posted.location!);
    expect(own.status).toBe(401);
    expect(own.html).toContain('not correct');
  });

  it('a throttled sign-in: the GET answers 429 with Retry-After on a usable form, once', async () => {
    const u = await createUser(ts);
    const b = new Browser(ts.url);
    try {
      for (let i = 0; i < 4; i++) {
        const posted = await b.submit(await b.get('/login'), '/login', {
          email: u.email,
          password: `wrong-${i}-xxxxxxxx`,
        });
        expect((await followFailure(b, posted, /^\/login\?/)).status).toBe(401);
      }
      const posted = await b.submit(await b.get('/login'), '/login', {
        email: u.email,
        password: u.password,
      });
      expect(posted.headers.get('retry-after')).toBeNull();
      const shown = await followFailure(b, posted, /^\/login\?/);
      expect(shown.status).toBe(429);
      expect(Number(shown.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(shown.html).toContain('Too many failed sign-in attempts');
      expect(parseForms(shown.html).find((f) => f.action === '/login')?.fields.csrf).toBeTruthy();
      const reload = await b.get(posted.location!);
      expect(reload.status).toBe(200);
      expect(reload.headers.get('retry-after')).toBeNull();
    } finally {
      await authFor(ts.server.services).throttle.recordSuccess(u.email, '127.0.0.1');
    }
  });

  it('an expired CSRF token: 303 and 403 after it, no session', async () => {
    const b = new Browser(ts.url);
    const posted = await b.post('/login', { email: user.email, password: user.password, csrf: 'forged' });
    const shown = await followFailure(b, posted, /^\/login\?/);
    expect(shown.status).toBe(403);
    expect(shown.html).toContain('expired');
    expect(b.cookies.has('clavis_session')).toBe(false);
  });

  it('inside an authorization request: the request and its app survive the redirect', async () => {
    const b = new Browser(ts.url);
    const authorize = pkceAuthUrl(ts, conf.app);
    const loginPage = await b.get(authorize);
    const returnTo = parseForms(loginPage.html).find((f) => f.action === '/login')!.fields.return_to!;
    expect(returnTo).toMatch(/^\/oauth\/authorize\?/);
    const posted = await b.submit(loginPage, '/login', { email: user.email, password: 'not the password 1' });
    const shown = await followFailure(b, posted, /^\/login\?return_to=%2Foauth%2Fauthorize%3F/);
    expect(shown.status).toBe(401);
    expect(shown.html).toContain('Flash Sync');
    expect(parseForms(shown.html).find((f) => f.action === '/login')!.fields.return_to).toBe(returnTo);
    // Signing in from the error page continues the same request, to consent.
    const ok = await b.submit(shown, '/login', { password: user.password });
    expect(ok.location).toBe(returnTo);
    const consent = await b.get(ok.location!);
    expect(parseForms(consent.html).some((f) => f.action === '/oauth/authorize/decision')).toBe(true);
  });

  it('prompt=login: a signed-in user who mistypes sees the error, not the next step', async () => {
    const b = new Browser(ts.url);
    await b.submit(await b.get('/login'), '/login', { email: user.email, password: user.password });
    const page = await b.get(pkceAuthUrl(ts, conf.app, { prompt: 'login' }));
    const posted = await b.submit(page, '/login', { email: user.email, password: 'not the password 1' });
    const shown = await followFailure(b, posted, /^\/login\?return_to=%2Foauth%2Fauthorize%3F/);
    expect(shown.status).toBe(401);
    expect(shown.html).toContain('not correct');
    // Without the flash, a signed-in user's /login goes on to the request as before.
    expect((await b.get(posted.location!)).status).toBe(303);
  });
});

describe('sign-up', () => {
  it('field errors: 303, shown once with 400, name and email kept, never the password', async () => {
    const b = new Browser(ts.url);
    const posted = await b.submit(await b.get('/signup'), '/signup', {
      name: 'Flash <i>',
      email: 'not-an-email',
      password: 'shortpw',
    });
    const shown = await followFailure(b, posted, /^\/signup\?flash=/);
    expect(shown.status).toBe(400);
    expect(shown.html).toMatch(/id="f-email-error"[^>]*>Enter a valid email address/);
    expect(shown.html).toMatch(/id="f-password-error"[^>]*>Use at least 10 characters/);
    expect(shown.html).toContain('value="Flash &lt;i>"');
    expect(shown.html).toContain('value="not-an-email"');
    expect(shown.html).not.toContain('shortpw');
    const reload = await b.get(posted.location!);
    expect(reload.status).toBe(200);
    expect(hasError(reload.html)).toBe(false);
    expect(reload.html).not.toContain('not-an-email');
    // Nothing was created by the failure, nor by the reload.
    const users = await ts.server.services.ctx.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'not-an-email')
      .execute();
    expect(users).toHaveLength(0);
  });

  it('a taken address: 303, then 409 once', async () => {
    const b = new Browser(ts.url);
    const posted = await b.submit(await b.get('/signup'), '/signup', {
      name: 'Again',
      email: user.email,
      password: 'a long password 123',
    });
    const shown = await followFailure(b, posted, /^\/signup\?flash=/);
    expect(shown.status).toBe(409);
    expect(shown.html).toContain('already exists');
    expect(hasError((await b.get(posted.location!)).html)).toBe(false);
  });
});

describe('device page', () => {
  it('a throttled decision: 303 to /device, then 429 with Retry-After and the code typed, once', async () => {
    const device = await createTestApp(ts, {
      name: 'Flash TV',
      client_type: 'public',
      callback_url: 'http://127.0.0.1/callback',
      grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
    });
    const start = await postForm(`${ts.url}/oauth/device_authorization`, { client_id: device.app.client_id });
    expect(start.status).toBe(200);
    const b = new Browser(ts.url);
    await b.submit(await b.get('/login'), '/login', { email: user.email, password: user.password });
    const confirm = await b.get(`/device?user_code=${encodeURIComponent(start.json.user_code)}`);
    expect(confirm.status).toBe(200);
    // Wrong codes from this session until it is throttled.
    let status = 400;
    for (let i = 0; i < 20 && status !== 429; i++)
      status = (await b.get('/device?user_code=BBBB-BBBB')).status;
    expect(status).toBe(429);
    const posted = await b.submit(confirm, '/device/decision', {}, 'allow');
    const shown = await followFailure(b, posted, /^\/device\?flash=/);
    expect(shown.status).toBe(429);
    expect(Number(shown.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(shown.html).toContain('Too many wrong codes');
    expect(shown.html).toContain(start.json.user_code);
    const reload = await b.get(posted.location!);
    expect(reload.status).toBe(200);
    expect(hasError(reload.html)).toBe(false);
  });
});
