import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFor } from '../src/auth/session.js';
import type { App } from '../src/domain/apps.js';
import { createSandbox } from '../src/domain/sandbox.js';
import { authorize, Browser, parseForms } from './helpers/browser.js';
import { exchange, getCode, pkceAuthUrl } from './helpers/flow.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createTenant, createUser, type TestUser } from './helpers/users.js';

/** Login and consent pages, CSRF, 303s, consent memory, who may authorize, throttling, the sandbox. */
let ts: TestServer;
let conf: { app: App; secret: string | null };
let user: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  conf = await createTestApp(ts, { name: 'Contact Sync <b>', callback_url: 'https://app.example/cb' });
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

const req = (app: App, extra: Record<string, string> = {}) => pkceAuthUrl(ts, app, extra);

async function signIn(browser: Browser, u: TestUser) {
  const page = await browser.get('/login');
  return browser.submit(page, '/login', { email: u.email, password: u.password });
}

describe('login page', () => {
  it('shows the app, its tenant and status, escapes names, and sets a strict CSP', async () => {
    const b = new Browser(ts.url);
    const page = await b.get(req(conf.app));
    expect(page.status).toBe(200);
    expect(page.html).toContain('Contact Sync &lt;b>');
    expect(page.html).not.toContain('Contact Sync <b>');
    expect(page.html).toContain('Default');
    expect(page.html).toContain('Private app of Default');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(page.html).not.toMatch(/<script|style=/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const css = await fetch(`${ts.url}/assets/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('signs in with a 303, a fresh HttpOnly SameSite=Lax session cookie, and returns to the request', async () => {
    const b = new Browser(ts.url);
    const page = await b.get(req(conf.app));
    const res = await b.submit(page, '/login', { email: user.email, password: user.password });
    expect(res.status).toBe(303);
    expect(res.location).toMatch(/^\/oauth\/authorize\?/);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('clavis_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    const consent = await b.get(res.location!);
    expect(parseForms(consent.html).some((f) => f.action === '/oauth/authorize/decision')).toBe(true);
  });

  it('a wrong password shows the form again with a clear message and 401, after a redirect', async () => {
    const b = new Browser(ts.url);
    const page = await b.get('/login');
    const posted = await b.submit(page, '/login', { email: user.email, password: 'wrong-password-123' });
    expect(posted.status).toBe(303);
    const res = await b.follow(posted);
    expect(res.status).toBe(401);
    expect(res.html).toContain('not correct');
  });

  it('refuses a login POST without a valid CSRF token', async () => {
    const b = new Browser(ts.url);
    const page = await b.get('/login');
    const res = await b.submit(page, '/login', {
      email: user.email,
      password: user.password,
      csrf: 'x'.repeat(43),
    });
    expect(res.headers.getSetCookie().some((c) => c.startsWith('clavis_session='))).toBe(false);
    expect((await b.follow(res)).status).toBe(403);
    // A token from another browser does not work either.
    const other = new Browser(ts.url);
    const otherPage = await other.get('/login');
    const token = parseForms(otherPage.html)[0]!.fields.csrf!;
    const forged = await b.submit(page, '/login', {
      email: user.email,
      password: user.password,
      csrf: token,
    });
    expect(forged.headers.getSetCookie().some((c) => c.startsWith('clavis_session='))).toBe(false);
    expect((await b.follow(forged)).status).toBe(403);
  });

  it('never returns to another origin', async () => {
    const b = new Browser(ts.url);
    const page = await b.get('/login?return_to=//evil.test/x');
    const res = await b.submit(page, '/login', { email: user.email, password: user.password });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/');
  });

  it('signing in from /login goes through / so each role lands on its own page', async () => {
    const admin = new Browser(ts.url);
    const page = await admin.get('/login');
    expect(parseForms(page.html).find((f) => f.action === '/login')!.fields.return_to).toBe('/');
    const res = await admin.submit(page, '/login', ts.admin);
    expect(res.status).toBe(303);
    expect(res.location).toBe('/');
    expect((await admin.get('/')).location).toBe('/apps');
    const plain = new Browser(ts.url);
    expect((await signIn(plain, user)).location).toBe('/');
    expect((await plain.get('/')).location).toBe('/account/connected-apps');
  });

  it('sets Secure cookies when the issuer is https', async () => {
    const s = await startTestServer({ env: { CLAVIS_ISSUER: 'https://id.example.test' } });
    try {
      const port = new URL(s.server.url).port;
      const b = new Browser(`http://127.0.0.1:${port}`);
      const u = await createUser(s);
      const res = await signIn(b, u);
      expect(res.status).toBe(303);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-clavis_session='))!;
      expect(cookie).toMatch(/Secure/);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toMatch(/Path=\//);
    } finally {
      await s.close();
    }
  });
});

describe('consent page', () => {
  it('shows the app, tenant, approval and each scope in words; deny gives access_denied by 303', async () => {
    const b = new Browser(ts.url);
    await signIn(b, user);
    const page = await b.get(req(conf.app, { scope: 'contacts:read profile:read' }));
    expect(page.status).toBe(200);
    expect(page.html).toContain('See your contacts');
    expect(page.html).toContain('See your name, email address and organisation');
    expect(page.html).toContain('Private app of Default');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const res = await b.submit(page, '/oauth/authorize/decision', {}, 'deny');
    expect(res.status).toBe(303);
    const loc = new URL(res.location!);
    expect(loc.searchParams.get('error')).toBe('access_denied');
    expect(loc.searchParams.get('state')).toBe('s1');
    expect(loc.searchParams.get('iss')).toBe(ts.url);
  });

  it('refuses a decision without the session CSRF token (no code is issued)', async () => {
    const b = new Browser(ts.url);
    await signIn(b, user);
    const page = await b.get(req(conf.app));
    const forged = await b.submit(page, '/oauth/authorize/decision', { csrf: 'forged' }, 'allow');
    expect(forged.status).toBe(403);
    expect(forged.location).toBeNull();
    // Another signed-in user's token does not fit this session.
    const b2 = new Browser(ts.url);
    await signIn(b2, await createUser(ts));
    const theirs = parseForms((await b2.get(req(conf.app))).html).find(
      (f) => f.action === '/oauth/authorize/decision',
    )!;
    const cross = await b.submit(page, '/oauth/authorize/decision', { csrf: theirs.fields.csrf! }, 'allow');
    expect(cross.status).toBe(403);
    const ok = await b.submit(page, '/oauth/authorize/decision', {}, 'allow');
    expect(ok.status).toBe(303);
    expect(ok.location).toContain('code=');
  });

  it('consent is remembered per user, app and scopes; a wider scope asks again', async () => {
    const app = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
    const u = await createUser(ts);
    const b = new Browser(ts.url);
    const first = await authorize(b, req(app.app, { scope: 'contacts:read' }), {
      email: u.email,
      password: u.password,
    });
    expect(first.sawConsent).toBe(true);
    const again = await authorize(b, req(app.app, { scope: 'contacts:read' }));
    expect(again.sawConsent).toBe(false);
    expect(again.page.status).toBe(302);
    expect(again.location).toContain('code=');
    const wider = await authorize(b, req(app.app, { scope: 'contacts:read profile:read' }));
    expect(wider.sawConsent).toBe(true);
    expect((await authorize(b, req(app.app, { scope: 'profile:read' }))).sawConsent).toBe(false);
    // Another user, and another app, are asked.
    const b2 = new Browser(ts.url);
    const other = await createUser(ts);
    expect(
      (
        await authorize(b2, req(app.app, { scope: 'contacts:read' }), {
          email: other.email,
          password: other.password,
        })
      ).sawConsent,
    ).toBe(true);
    const app2 = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
    expect((await authorize(b, req(app2.app, { scope: 'contacts:read' }))).sawConsent).toBe(true);
  });

  it('a public client always asks', async () => {
    const app = await createTestApp(ts, { client_type: 'public', callback_url: 'https://app.example/cb' });
    const b = new Browser(ts.url);
    const u = await createUser(ts);
    expect((await authorize(b, req(app.app), { email: u.email, password: u.password })).sawConsent).toBe(
      true,
    );
    expect((await authorize(b, req(app.app))).sawConsent).toBe(true);
    // Even a stored consent (say, from before the app became public) is not used for a public client.
    const now = Date.now();
    await ts.server.services.ctx.db
      .insertInto('consents')
      .values({
        user_id: u.user.id,
        app_id: app.app.id,
        scope: 'contacts:read contacts:write profile:read',
        created_at: now,
        updated_at: now,
      })
      .execute();
    expect((await authorize(b, req(app.app))).sawConsent).toBe(true);
  });
});

describe('who may authorize', () => {
  let otherTenantUser: TestUser;
  let homeUser: TestUser;
  beforeAll(async () => {
    const t = await createTenant(ts, 'Other Corp');
    otherTenantUser = await createUser(ts, { tenantId: t.id });
    homeUser = await createUser(ts);
  });

  const cases: Array<{
    name: string;
    visibility: 'private' | 'public';
    status: 'draft' | 'approved' | 'in_review' | 'disabled';
    home: boolean;
    other: boolean;
  }> = [
    { name: 'private app', visibility: 'private', status: 'draft', home: true, other: false },
    { name: 'approved private app', visibility: 'private', status: 'approved', home: true, other: false },
    { name: 'approved public app', visibility: 'public', status: 'approved', home: true, other: true },
    { name: 'draft public app', visibility: 'public', status: 'draft', home: true, other: false },
    { name: 'public app in review', visibility: 'public', status: 'in_review', home: true, other: false },
  ];
  for (const c of cases) {
    it(`${c.name}: its own tenant ${c.home ? 'may' : 'may not'}, another tenant ${c.other ? 'may' : 'may not'}`, async () => {
      const app = await createTestApp(
        ts,
        { visibility: c.visibility, callback_url: 'https://app.example/cb' },
        { status: c.status },
      );
      for (const [u, allowed] of [
        [homeUser, c.home],
        [otherTenantUser, c.other],
      ] as const) {
        const b = new Browser(ts.url);
        const r = await authorize(b, req(app.app), { email: u.email, password: u.password });
        if (allowed) {
          expect(r.location, u.email).toContain('code=');
        } else {
          expect(r.page.status).toBe(403);
          expect(r.location).toBeNull();
          expect(r.page.html).toContain('error=access_denied');
          // Even a hand-made consent POST is refused.
          const decision = await b.post('/oauth/authorize/decision', {
            csrf: (await b.get('/account/connected-apps')).html.match(/name="csrf" value="([^"]+)"/)![1]!,
            request: new URL(req(app.app)).search.slice(1),
            decision: 'allow',
          });
          expect(decision.status).toBe(303);
          expect(new URL(decision.location!).searchParams.get('error')).toBe('access_denied');
        }
      }
    });
  }

  it('the consent page says whether a public app is approved', async () => {
    const approved = await createTestApp(
      ts,
      { visibility: 'public', callback_url: 'https://app.example/cb' },
      { status: 'approved' },
    );
    const draft = await createTestApp(
      ts,
      { visibility: 'public', callback_url: 'https://app.example/cb' },
      { status: 'draft' },
    );
    const b = new Browser(ts.url);
    await signIn(b, homeUser);
    expect((await b.get(req(approved.app))).html).toContain('Approved by Clavis');
    expect((await b.get(req(draft.app))).html).toContain('Not approved');
  });
});

describe('login throttling', () => {
  it('delays an address that keeps failing on an account, even for the right password', async () => {
    const u = await createUser(ts);
    const b = new Browser(ts.url);
    for (let i = 0; i < 4; i++) {
      const page = await b.get('/login');
      const res = await b.submit(page, '/login', { email: u.email, password: `wrong-${i}-xxxxxxxx` });
      expect((await b.follow(res)).status).toBe(401);
    }
    const page = await b.get('/login');
    const posted = await b.submit(page, '/login', { email: u.email, password: u.password });
    expect(posted.headers.getSetCookie().some((c) => c.startsWith('clavis_session='))).toBe(false);
    const locked = await b.follow(posted);
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many failed sign-in attempts');
    expect(locked.headers.get('retry-after')).toBeTruthy();
    // Other accounts from the same address still sign in.
    expect((await signIn(new Browser(ts.url), await createUser(ts))).status).toBe(303);
  });

  it('delays an IP address after failures on many distinct accounts', async () => {
    const throttle = authFor(ts.server.services).throttle;
    const saved = throttle.policy.accountsPerAddress;
    (throttle.policy as { accountsPerAddress: number }).accountsPerAddress = 3;
    try {
      const b = new Browser(ts.url);
      for (let i = 0; i < 4; i++) {
        const page = await b.get('/login');
        await b.submit(page, '/login', { email: `nobody${i}@users.test`, password: 'wrong-password-1' });
      }
      const fresh = await createUser(ts);
      const page = await b.get('/login');
      const res = await b.submit(page, '/login', { email: fresh.email, password: fresh.password });
      expect((await b.follow(res)).status).toBe(429);
    } finally {
      (throttle.policy as { accountsPerAddress: number }).accountsPerAddress = saved;
      await ts.server.services.ctx.db.deleteFrom('login_throttle').execute();
    }
  });
});

describe('sign-out and the developer sandbox', () => {
  it('sign-out needs the CSRF token and answers 303', async () => {
    const b = new Browser(ts.url);
    await signIn(b, user);
    const page = await b.get('/account/connected-apps');
    expect((await b.post('/logout', { csrf: 'nope' })).status).toBe(403);
    const out = await b.submit(page, '/logout');
    expect(out.status).toBe(303);
    expect((await b.get('/account/connected-apps')).status).toBe(303);
  });

  it('createSandbox makes a sandbox tenant with the developer as admin and a test user who can run the flow', async () => {
    const ctx = ts.server.services.ctx;
    const sb = await createSandbox(ctx, {
      email: 'dev@sandbox.test',
      password: 'dev password 123',
      name: 'Dana',
    });
    expect(sb.tenant.kind).toBe('sandbox');
    expect(sb.user.role).toBe('admin');
    expect(sb.testUser.is_test_user).toBe(true);
    expect(sb.testUser.tenant_id).toBe(sb.tenant.id);
    const { app, secret } = await createTestApp(
      ts,
      { callback_url: 'https://app.example/cb' },
      { tenantId: sb.tenant.id },
    );
    const c = await getCode(ts, app, {
      user: sb.testUser,
      email: sb.testUser.email,
      password: sb.testUserPassword,
    });
    expect((await exchange(ts, app, secret, c.code, c.verifier)).status).toBe(200);
    const row = await ctx.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', sb.testUser.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).not.toContain(sb.testUserPassword);
  });
});
