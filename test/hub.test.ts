import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../src/domain/audit.js';
import { authorize, Browser, type Page, parseForms } from './helpers/browser.js';
import { pkceAuthUrl } from './helpers/flow.js';
import {
  basicAuth,
  createTestApp,
  managementToken,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createUser } from './helpers/users.js';

/** The developer hub over real HTTP: sign-up, CSRF on every form, escaping, field errors, secrets once. */
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

let n = 0;
async function signup(name = 'Dev') {
  const b = new Browser(ts.url);
  const email = `dev-${Date.now()}-${n++}@example.org`;
  const page = await b.get('/signup');
  const res = await b.submit(page, '/signup', { name, email, password: 'a long password 123' });
  expect(res.status).toBe(201);
  return { b, email, res };
}

async function createApp(b: Browser, values: Record<string, string>) {
  const form = await b.get('/apps/new');
  return b.submit(form, '/apps/new', {
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'http://localhost:3000/callback',
    ...values,
  });
}

/**
 * A failed hub form answers 303 to its form page (redirect after POST, errors included); following it shows
 * the form as submitted, with its errors, once.
 */
async function followFailure(b: Browser, res: Page, formPage: string): Promise<Page> {
  expect(res.status).toBe(303);
  expect(res.location).toMatch(new RegExp(`^${formPage}\\?flash=[A-Za-z0-9_-]+$`));
  const shown = await b.get(res.location!);
  expect(shown.status).toBe(200);
  return shown;
}

const secretValue = (p: Page) =>
  /<textarea[^>]*id="secret-value-text"[^>]*>([^<]+)<\/textarea>/.exec(p.html)?.[1];
const appIdOf = (p: Page) => /\/apps\/([0-9a-f-]{36})\/oauth/.exec(p.html)![1]!;
const token = (clientId: string, secret: string) =>
  postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuth(clientId, secret) },
  );

describe('sign-up', () => {
  it('creates a sandbox, signs in with an HttpOnly cookie and shows the test user password once', async () => {
    const b = new Browser(ts.url);
    const page = await b.get('/signup');
    expect(page.status).toBe(200);
    expect(page.html).toContain('name="csrf"');
    const res = await b.submit(page, '/signup', {
      name: 'Ada',
      email: 'ada@example.org',
      password: 'a long password 123',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.getSetCookie().some((c) => /clavis_session=.*HttpOnly/i.test(c))).toBe(true);
    expect(res.html).toContain('will not be shown again');
    const pw = /id="test-user-password"[^>]*value="([^"]+)"/.exec(res.html)![1]!;
    expect(pw.length).toBeGreaterThan(10);
    const home = await b.get('/');
    expect(home.location).toBe('/apps');
    const apps = await b.get('/apps');
    expect(apps.status).toBe(200);
    expect(apps.html).toContain('Owned applications');
    expect(apps.html).not.toContain(pw);
  });

  it('keeps what was typed and shows field errors', async () => {
    const b = new Browser(ts.url);
    const page = await b.get('/signup');
    const posted = await b.submit(page, '/signup', {
      name: 'Bob <b>',
      email: 'not-an-email',
      password: 'short',
    });
    expect(posted.status).toBe(303);
    const res = await b.follow(posted);
    expect(res.status).toBe(400);
    expect(res.html).toContain('value="Bob &lt;b>"');
    expect(res.html).toContain('value="not-an-email"');
    expect(res.html).toMatch(/field-error[^>]*>[^<]*(email|password)/i);
    const dup = await b.follow(
      await b.submit(await b.get('/signup'), '/signup', {
        name: 'Ada',
        email: 'ada@example.org',
        password: 'a long password 123',
      }),
    );
    expect(dup.status).toBe(409);
    expect(dup.html).toContain('already exists');
  });

  it('refuses a sign-up without the CSRF token, keeping the typed values', async () => {
    const b = new Browser(ts.url);
    await b.get('/signup');
    const posted = await b.post('/signup', {
      csrf: 'forged',
      name: 'Eve',
      email: 'eve@example.org',
      password: 'a long password 123',
    });
    expect(posted.status).toBe(303);
    const res = await b.follow(posted);
    expect(res.status).toBe(403);
    expect(res.html).toContain('value="eve@example.org"');
    expect(res.html).not.toContain('a long password 123');
  });

  it('is off when CLAVIS_SIGNUP_ENABLED=false', async () => {
    const closed = await startTestServer({ env: { CLAVIS_SIGNUP_ENABLED: 'false' } });
    try {
      const b = new Browser(closed.url);
      expect((await b.get('/signup')).status).toBe(404);
      expect(
        (await b.post('/signup', { name: 'x', email: 'x@example.org', password: 'a long password 123' }))
          .status,
      ).toBe(404);
      expect((await b.get('/login')).html).not.toContain('href="/signup"');
    } finally {
      await closed.close();
    }
  });
});

describe('apps and client secrets', () => {
  it('create form: field errors keep what was typed, escaped', async () => {
    const { b } = await signup();
    const res = await followFailure(
      b,
      await createApp(b, { name: '<script>alert(1)</script>', callback_url: 'ftp://nope' }),
      '/apps/new',
    );
    expect(res.html).not.toContain('<script>alert(1)</script>');
    expect(res.html).toContain('value="&lt;script>alert(1)&lt;/script>"');
    expect(res.html).toContain('value="ftp://nope"');
    expect(res.html).toMatch(/id="f-callback_url-error"[^>]*>The callback URL must use https/);
    expect(res.html).toContain('aria-invalid="true"');
    expect(res.html).toContain('one per app');
  });

  it('shows a new secret value once; lists only its hint; reload and re-post never show it again', async () => {
    const { b } = await signup();
    const created = await createApp(b, { name: 'Billing <i>sync</i>' });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.html).toContain('Billing &lt;i>sync&lt;/i>');
    const first = secretValue(created)!;
    expect(first).toMatch(/^[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}$/);
    const id = appIdOf(created);
    const tab = await b.get(`/apps/${id}/oauth`);
    expect(tab.status).toBe(200);
    expect(tab.html).not.toContain(first);
    expect(tab.html).toContain(`${first.slice(0, 3)}•••••`);
    const clientId = /id="client-id">([0-9a-f]{32})</.exec(tab.html)![1]!;
    expect(tab.html).toContain('Object ID');
    expect(tab.html).toContain('Tenant ID');
    expect((await token(clientId, first)).status).toBe(200);

    const made = await b.submit(tab, `/apps/${id}/oauth/secrets`, { description: 'CI', expiry: '12' });
    expect(made.status).toBe(201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    expect(made.html).toContain('will not be shown again');
    const second = secretValue(made)!;
    expect(second).not.toBe(first);
    // Re-posting the same form (a reload) neither repeats the action nor shows the value.
    const again = await b.submit(tab, `/apps/${id}/oauth/secrets`, { description: 'CI', expiry: '12' });
    expect(again.status).toBe(303);
    expect(again.location).toBe(`/apps/${id}/oauth`);
    const list = await b.get(`/apps/${id}/oauth`);
    expect(list.html).not.toContain(second);
    expect((list.html.match(/<tr/g) ?? []).length).toBe(3);
    for (const path of [`/apps/${id}`, `/apps/${id}/audit`, '/apps'])
      expect((await b.get(path)).html).not.toContain(second);

    // Refresh the first secret: it stops working, the new one works.
    const sid = /refresh-([0-9a-f-]{36})"/.exec(
      list.html.slice(list.html.indexOf(`${first.slice(0, 3)}•••••`)),
    )![1]!;
    const confirm = await b.get(`/apps/${id}/oauth?confirm=refresh&secret=${sid}`);
    expect(confirm.html).toContain('Generate new client secret');
    const refreshed = await b.submit(confirm, `/apps/${id}/oauth/secrets/${sid}/refresh`);
    expect(refreshed.status).toBe(200);
    const third = secretValue(refreshed)!;
    expect((await token(clientId, first)).status).toBe(401);
    expect((await token(clientId, third)).status).toBe(200);
    expect((await b.get(`/apps/${id}/oauth`)).html).not.toContain(third);

    // Invalid expiry: the dialog comes back open, with the error and the typed description.
    const bad = await followFailure(
      b,
      await b.submit(list, `/apps/${id}/oauth/secrets`, {
        description: 'Too long-lived',
        expiry: 'custom',
        expires_on: '2199-01-01',
      }),
      `/apps/${id}/oauth`,
    );
    expect(bad.html).toContain('value="Too long-lived"');
    expect(bad.html).toMatch(/policy allows client secrets to live at most/);
    expect(bad.html).toMatch(/<dialog[^>]*id="new-secret"[^>]*open/);
    // A date that does not exist is refused, not rolled over into the next month.
    const feb30 = await followFailure(
      b,
      await b.submit(list, `/apps/${id}/oauth/secrets`, {
        description: 'Impossible date',
        expiry: 'custom',
        expires_on: `${new Date().getUTCFullYear() + 1}-02-30`,
      }),
      `/apps/${id}/oauth`,
    );
    expect(feb30.html).toContain('The expiry date is not valid.');

    // Revoke: 303 and the secret no longer works.
    const oauthHtml = (await b.get(`/apps/${id}/oauth`)).html;
    const afterThird = oauthHtml.slice(oauthHtml.indexOf(`${third.slice(0, 3)}•••••`));
    const sid3 = /revoke-([0-9a-f-]{36})"/.exec(afterThird)?.[1];
    if (!sid3) throw new Error(afterThird.slice(0, 3000));
    const del = await b.submit(await b.get(`/apps/${id}/oauth`), `/apps/${id}/oauth/secrets/${sid3}/revoke`);
    expect(del.status).toBe(303);
    expect((await token(clientId, third)).status).toBe(401);
    const audit = await b.get(`/apps/${id}/audit`);
    expect(audit.html).toContain('Client secret refreshed');
    expect(audit.html).toContain('Client secret revoked');
  });

  it("another tenant's app is 404 on every page and action", async () => {
    const owner = await signup('Owner');
    const id = appIdOf(await createApp(owner.b, { name: 'Mine' }));
    const other = await signup('Other');
    for (const path of [`/apps/${id}`, `/apps/${id}/oauth`, `/apps/${id}/audit`])
      expect((await other.b.get(path)).status).toBe(404);
    const csrf = /name="csrf" value="([^"]+)"/.exec((await other.b.get('/apps')).html)![1]!;
    for (const path of [
      `/apps/${id}`,
      `/apps/${id}/oauth/secrets`,
      `/apps/${id}/submit`,
      `/apps/${id}/delete`,
      `/apps/${id}/oauth/scopes`,
    ])
      expect((await other.b.post(path, { csrf, name: 'hijack' })).status).toBe(404);
    expect((await other.b.get('/apps')).html).not.toContain('Mine');
    expect((await owner.b.get(`/apps/${id}`)).html).toContain('Mine');
  });

  it('every form on every hub page carries a CSRF token, and a forged one is refused', async () => {
    const { b } = await signup();
    const id = appIdOf(await createApp(b, { name: 'Forms' }));
    const pages = [
      '/apps',
      '/apps/new',
      '/apps/request',
      `/apps/${id}`,
      `/apps/${id}/oauth`,
      '/admin/requests',
      '/admin/settings',
      '/admin/users',
    ];
    let checked = 0;
    for (const path of pages) {
      const page = await b.get(path);
      expect(page.status, path).toBe(200);
      expect(page.html, path).not.toMatch(/<script(?![^>]*\bsrc=)|\sstyle=/);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      for (const f of parseForms(page.html).filter((x) => x.method === 'post')) {
        expect(f.fields.csrf, `${path} ${f.action}`).toBeTruthy();
        const forged = await b.post(f.action, { ...f.fields, csrf: 'forged' });
        expect(forged.status, `${path} ${f.action}`).toBe(403);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(12);
    // Still signed in and nothing changed.
    expect((await b.get(`/apps/${id}`)).status).toBe(200);
  });

  it('requires sign-in', async () => {
    const b = new Browser(ts.url);
    for (const path of ['/apps', '/apps/new', '/admin/users']) {
      const r = await b.get(path);
      expect(r.status).toBe(303);
      expect(r.location).toMatch(/^\/login\?return_to=/);
    }
  });
});

describe('public apps, review and admin', () => {
  it('submit names the rule that failed; the admin approves or rejects with a reason the owner sees', async () => {
    const { b } = await signup();
    const res = await createApp(b, { name: 'Public one', visibility: 'public' });
    const id = appIdOf(res);
    const basic = await b.get(`/apps/${id}`);
    // Redirect after POST, failure included: the reason is shown on the page the browser lands on.
    const failed = await b.submit(basic, `/apps/${id}/submit`);
    expect(failed.status).toBe(303);
    expect(failed.location).toBe(`/apps/${id}?error=submit`);
    expect((await b.get(failed.location!)).html).toMatch(/Cannot submit yet.*must use https/s);
    const saved = await b.submit(basic, `/apps/${id}`, { callback_url: 'https://billing.acme-corp.io/cb' });
    expect(saved.status).toBe(303);
    await b.submit(await b.get(`/apps/${id}/oauth`), `/apps/${id}/oauth/scopes`, { scopes: 'profile:read' });
    expect((await b.submit(await b.get(`/apps/${id}`), `/apps/${id}/submit`)).location).toBe(
      `/apps/${id}?notice=submitted`,
    );

    const admin = new Browser(ts.url);
    await admin.submit(await admin.get('/login'), '/login', ts.admin);
    const queue = await admin.get('/admin/review');
    expect(queue.html).toContain('Public one');
    const noReason = await followFailure(
      admin,
      await admin.submit(queue, `/admin/review/${id}/reject`, { reason: '' }),
      '/admin/review',
    );
    expect(noReason.html).toContain('Tell the owner why');
    const rejected = await admin.submit(queue, `/admin/review/${id}/reject`, {
      reason: 'Use <your> real domain',
    });
    expect(rejected.status).toBe(303);
    const seen = await b.get(`/apps/${id}`);
    expect(seen.html).toContain('Use &lt;your> real domain');
    await b.submit(seen, `/apps/${id}/submit`);
    const approved = await admin.submit(await admin.get('/admin/review'), `/admin/review/${id}/approve`);
    expect(approved.status).toBe(303);
    expect((await b.get(`/apps/${id}`)).html).toContain('Approved');
    // A sandbox admin is not a platform admin: no review queue.
    expect((await b.get('/admin/review')).status).toBe(403);
  });

  it('settings: field errors keep input; "no" turns Create into Request an app for developers', async () => {
    const { b } = await signup();
    const settings = await b.get('/admin/settings');
    const bad = await followFailure(
      b,
      await b.submit(settings, '/admin/settings', {
        users_can_register_apps: 'no',
        secret_max_lifetime_days: '99999',
        secret_allow_never_expire: 'no',
      }),
      '/admin/settings',
    );
    expect(bad.html).toContain('value="99999"');
    expect(bad.html).toMatch(/between 1 and 3650/);
    const ok = await b.submit(settings, '/admin/settings', {
      users_can_register_apps: 'no',
      secret_max_lifetime_days: '365',
      secret_allow_never_expire: 'no',
    });
    expect(ok.status).toBe(303);

    // Add a developer; the initial password is shown once.
    const users = await b.get('/admin/users');
    const added = await b.submit(users, '/admin/users', {
      email: 'dev2@example.org',
      display_name: 'Dev Two',
      role: 'developer',
    });
    expect(added.status).toBe(201);
    const pw = /id="initial-password"[^>]*value="([^"]+)"/.exec(added.html)![1]!;
    expect((await b.get('/admin/users')).html).not.toContain(pw);

    const dev = new Browser(ts.url);
    await dev.submit(await dev.get('/login'), '/login', { email: 'dev2@example.org', password: pw });
    const list = await dev.get('/apps');
    expect(list.html).toContain('Request an app');
    expect(list.html).not.toContain('href="/apps/new"');
    expect((await dev.get('/apps/new')).location).toBe('/apps/request');
    const unnamed = await followFailure(
      dev,
      await dev.submit(await dev.get('/apps/request'), '/apps/request', {
        name: '',
        visibility: 'private',
        client_type: 'confidential',
        callback_url: 'https://typed.acme-corp.io/cb',
        justification: 'Typed reason',
      }),
      '/apps/request',
    );
    expect(unnamed.html).toContain('value="https://typed.acme-corp.io/cb"');
    expect(unnamed.html).toMatch(/class="field-error"/);
    const sent = await dev.submit(await dev.get('/apps/request'), '/apps/request', {
      name: 'Reporting',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://reports.acme-corp.io/cb',
      justification: 'Monthly reports',
    });
    expect(sent.status).toBe(303);
    const reqs = await b.get('/admin/requests');
    expect(reqs.html).toContain('Reporting');
    const reqId = /\/admin\/requests\/([0-9a-f-]{36})\/fulfil/.exec(reqs.html)![1]!;
    const noReason = await followFailure(
      b,
      await b.submit(reqs, `/admin/requests/${reqId}/decline`, { reason: '' }),
      '/admin/requests',
    );
    expect(noReason.html).toMatch(/class="field-error"/);
    expect((await b.get(noReason.url)).html).not.toMatch(/class="field-error"/);
    expect((await b.submit(reqs, `/admin/requests/${reqId}/fulfil`)).status).toBe(303);
    const devList = await dev.get('/apps');
    expect(devList.html).toContain('Reporting');

    // Change role and disable.
    const usersPage = await b.get('/admin/users');
    const uid = /\/admin\/users\/([0-9a-f-]{36})\/role/.exec(
      usersPage.html.split('dev2@example.org')[1]!,
    )![1]!;
    expect((await b.submit(usersPage, `/admin/users/${uid}/role`, { role: 'user' })).status).toBe(303);
    expect((await b.submit(usersPage, `/admin/users/${uid}/disable`)).status).toBe(303);
    expect((await dev.get('/apps')).status).toBe(303);
  });
});

describe('content security policy', () => {
  it("sign-in and consent pages of an authorization request let the form redirect to the app's callback only", async () => {
    const { app } = await createTestApp(ts, { callback_url: 'https://cb.acme-corp.io/oauth/cb' });
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: app.callback_url,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const page = await new Browser(ts.url).get(`/oauth/authorize?${q}`);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("form-action 'self' https://cb.acme-corp.io;");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    const hub = await (await signup()).b.get('/apps');
    expect(hub.headers.get('content-security-policy')).toContain("form-action 'self';");
    const asset = /href="(\/assets\/hub\.[0-9a-f]+\.css)"/.exec(hub.html)![1]!;
    const res = await fetch(`${ts.url}${asset}`);
    expect(res.headers.get('cache-control')).toContain('immutable');
  });
});

async function setPolicy(b: Browser, days: string) {
  const res = await b.submit(await b.get('/admin/settings'), '/admin/settings', {
    users_can_register_apps: 'yes',
    secret_max_lifetime_days: days,
    secret_allow_never_expire: 'no',
  });
  expect(res.status).toBe(303);
}

const optionValues = (html: string, selectId: string) => {
  const select = new RegExp(`<select[^>]*id="${selectId}"[^>]*>([\\s\\S]*?)</select>`).exec(html)![1]!;
  return {
    values: [...select.matchAll(/<option[^>]*value="([^"]*)"/g)].map((m) => m[1]),
    selected: /<option[^>]*value="([^"]*)"[^>]*selected/.exec(select)?.[1],
  };
};

describe('OAuth tab: secret expiry within a short policy, identifiers, the value shown once', () => {
  it('a 30-day policy still lets you create a confidential app, refresh and add secrets', async () => {
    const { b } = await signup();
    await setPolicy(b, '30');
    const created = await createApp(b, { name: 'Short-lived' });
    expect(created.status).toBe(201);
    const first = secretValue(created)!;
    expect(first).toMatch(/^[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}$/);
    const id = appIdOf(created);
    const tab = await b.get(`/apps/${id}/oauth?new_secret=1`);
    // Only choices within policy: no 6/12/24-month presets, the policy's maximum pre-selected.
    const { values, selected } = optionValues(tab.html, 'secret-expiry');
    expect(values).toEqual(['default', 'custom']);
    expect(selected).toBe('default');
    expect(tab.html).toMatch(/<option value="default" selected>30 days \(your tenant(&#39;|')s maximum\)</);
    const added = await b.submit(tab, `/apps/${id}/oauth/secrets`, { description: 'Extra' });
    expect(added.status).toBe(201);
    expect(secretValue(added)).toBeTruthy();
    const sid = /refresh-([0-9a-f-]{36})"/.exec(tab.html)![1]!;
    const refreshed = await b.submit(
      await b.get(`/apps/${id}/oauth?confirm=refresh&secret=${sid}`),
      `/apps/${id}/oauth/secrets/${sid}/refresh`,
    );
    expect(refreshed.status).toBe(200);
    expect(secretValue(refreshed)).toBeTruthy();
    // Every secret expires within the policy.
    const secrets = await ts.server.services.ctx.db
      .selectFrom('client_secrets')
      .select('expires_at')
      .where('app_id', '=', id)
      .execute();
    expect(secrets).toHaveLength(3);
    for (const s of secrets) expect(s.expires_at! - Date.now()).toBeLessThanOrEqual(30 * 86_400_000 + 60_000);
  });

  it('a policy between 6 and 12 months offers 6 months (pre-selected) and hides the longer presets', async () => {
    const { b } = await signup();
    await setPolicy(b, '200');
    const id = appIdOf(await createApp(b, { name: 'Medium' }));
    const { values, selected } = optionValues(
      (await b.get(`/apps/${id}/oauth?new_secret=1`)).html,
      'secret-expiry',
    );
    expect(values).toEqual(['6', 'custom']);
    expect(selected).toBe('6');
  });

  it('"Custom date" with no date asks for a date', async () => {
    const { b } = await signup();
    const created = await createApp(b, { name: 'Custom' });
    const id = appIdOf(created);
    const bad = await followFailure(
      b,
      await b.submit(await b.get(`/apps/${id}/oauth`), `/apps/${id}/oauth/secrets`, {
        description: 'Typed',
        expiry: 'custom',
        expires_on: '',
      }),
      `/apps/${id}/oauth`,
    );
    expect(bad.html).toMatch(/id="secret-expires-on-error"[^>]*>Choose an expiry date\.</);
    expect(bad.html).toContain('value="Typed"');
  });

  it('the IDs card is titled Identifiers; the secrets table keeps Created and Last used; the value wraps', async () => {
    const { b } = await signup();
    const created = await createApp(b, { name: 'Ids' });
    expect(created.html).toMatch(/<textarea[^>]*class="secret-value"[^>]*readonly/);
    const tab = await b.get(`/apps/${appIdOf(created)}/oauth`);
    expect(tab.html).toContain('<h2 id="ids-title">Identifiers</h2>');
    for (const label of ['Client ID', 'Object ID', 'Tenant ID']) expect(tab.html).toContain(label);
    expect(tab.html).toContain('<th scope="col">Created</th>');
    expect(tab.html).toContain('<th scope="col">Last used</th>');
    expect(tab.html).toMatch(/<td data-label="Last used">/);
  });
});

describe('forms report every field error at once; navigation on the sandbox page', () => {
  it('sign-up: email and password errors together, typed values kept, password never echoed', async () => {
    const b = new Browser(ts.url);
    const res = await b.follow(
      await b.submit(await b.get('/signup'), '/signup', {
        name: 'Bob',
        email: 'not-an-email',
        password: 'short-pw',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="f-email-error"[^>]*>Enter a valid email address/);
    expect(res.html).toMatch(/id="f-password-error"[^>]*>Use at least 10 characters/);
    expect(res.html).toContain('value="not-an-email"');
    expect(res.html).toContain('value="Bob"');
    expect(res.html).not.toContain('short-pw');
  });

  it('admin "Add a user": email and role errors together; an invalid role change is a field error', async () => {
    const { b } = await signup();
    const users = await b.get('/admin/users');
    const res = await followFailure(
      b,
      await b.submit(users, '/admin/users', {
        email: 'bad-email',
        display_name: 'Typed Name',
        role: 'zzz',
      }),
      '/admin/users',
    );
    expect(res.html).toMatch(/id="f-email-error"[^>]*>Enter a valid email address/);
    expect(res.html).toMatch(/class="field-error"[^>]*>Choose admin, developer or user/);
    expect(res.html).toContain('value="bad-email"');
    expect(res.html).toContain('value="Typed Name"');

    const uid = /\/admin\/users\/([0-9a-f-]{36})\/role/.exec(users.html.split('test-user-')[1]!)![1]!;
    const role = await followFailure(
      b,
      await b.submit(users, `/admin/users/${uid}/role`, { role: 'superuser' }),
      '/admin/users',
    );
    expect(role.html).toMatch(
      new RegExp(`id="role-${uid}-error" class="field-error">Choose admin, developer or user`),
    );
    expect(role.html).toMatch(new RegExp(`id="role-${uid}"[^>]*aria-invalid="true"`));
  });

  it('the "Your sandbox is ready" page has the navigation and a working sign-out', async () => {
    const { b, res } = await signup();
    expect(res.html).toMatch(/<nav aria-label="Main">[\s\S]*href="\/apps"[\s\S]*href="\/admin"/);
    expect(res.html).toContain('Connected apps');
    const out = await b.submit(res, '/logout');
    expect(out.status).toBe(303);
    expect((await b.get('/apps')).status).toBe(303);
  });
});

describe('app page: delete confirmation, status words, audit actors', () => {
  it('deleting an app asks first, without JavaScript: a confirmation dialog page, then the delete', async () => {
    const { b } = await signup();
    const id = appIdOf(await createApp(b, { name: 'Doomed' }));
    const basic = await b.get(`/apps/${id}`);
    expect(basic.html).not.toContain('data-confirm');
    expect(basic.html).toContain(`href="/apps/${id}?confirm=delete"`);
    expect(basic.html).not.toMatch(/<dialog[^>]*id="delete-app"[^>]*\sopen/);
    const confirm = await b.get(`/apps/${id}?confirm=delete`);
    expect(confirm.html).toMatch(/<dialog[^>]*id="delete-app"[^>]*\sopen/);
    expect(confirm.html).toContain('Delete Doomed?');
    // A post that did not come from the confirmation is sent to it, and deletes nothing.
    const csrf = parseForms(confirm.html).find((f) => f.action === `/apps/${id}/delete`)!.fields.csrf!;
    const unconfirmed = await b.post(`/apps/${id}/delete`, { csrf });
    expect(unconfirmed.status).toBe(303);
    expect(unconfirmed.location).toBe(`/apps/${id}?confirm=delete`);
    expect((await b.get(`/apps/${id}`)).status).toBe(200);
    const deleted = await b.submit(confirm, `/apps/${id}/delete`);
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe('/apps?notice=deleted');
    expect((await b.get(`/apps/${id}`)).status).toBe(404);
  });

  it('status words match the API: a private app is a Draft, the filter says Draft', async () => {
    const { b } = await signup();
    const id = appIdOf(await createApp(b, { name: 'Private draft' }));
    const list = await b.get('/apps');
    expect(list.html).not.toContain('>Active<');
    expect(list.html).toContain('<option value="draft">Draft</option>');
    expect(list.html).toMatch(
      /badge-muted">Draft<\/span><span class="hint status-note"> usable in your tenant without review/,
    );
    expect((await b.get(`/apps/${id}`)).html).toContain('>Draft<');
  });

  it('the audit log names the app itself when it used its own credentials', async () => {
    const { b } = await signup();
    const created = await createApp(b, { name: 'Self' });
    const id = appIdOf(created);
    const clientId = /id="client-id">([0-9a-f]{32})</.exec((await b.get(`/apps/${id}/oauth`)).html)![1]!;
    expect((await token(clientId, secretValue(created)!)).status).toBe(200);
    const audit = await b.get(`/apps/${id}/audit`);
    expect(audit.html).toContain('Client secret used for the first time');
    expect(audit.html).toContain(`by the app itself (client_id ${clientId})`);
  });
});

describe('phone width and browser error pages', () => {
  it('the stylesheet keeps phone-width pages inside the screen (audit list, secret value, tabs)', async () => {
    const page = await (await signup()).b.get('/apps');
    const css = await (
      await fetch(`${ts.url}${/href="(\/assets\/hub\.[0-9a-f]+\.css)"/.exec(page.html)![1]}`)
    ).text();
    expect(css).toMatch(/\.audit-list li \{[^}]*minmax\(0, 1fr\)/);
    expect(css).toMatch(/textarea\.secret-value \{[^}]*overflow-wrap: anywhere/);
    expect(css).toMatch(/\.tabs \{ flex-wrap: wrap/);
    expect(css).toMatch(/\.topbar \.user-chip \{ order: 2/);
  });

  it('browsers get HTML 404 and 413 pages; protocol and API paths keep their JSON errors', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const nope = await fetch(`${ts.url}/nope`, { headers: html });
    expect(nope.status).toBe(404);
    expect(nope.headers.get('content-type')).toMatch(/^text\/html/);
    expect(nope.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(nope.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(await nope.text()).toContain('Page not found');
    for (const path of ['/api/v1/nope', '/oauth/nope', '/.well-known/nope']) {
      const r = await fetch(`${ts.url}${path}`, { headers: html });
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type'), path).toMatch(/json/);
    }
    expect((await fetch(`${ts.url}/nope`)).headers.get('content-type')).toMatch(/json/);

    const { b } = await signup();
    const form = parseForms((await b.get('/apps/new')).html).find((f) => f.action === '/apps/new')!;
    const big = new URLSearchParams({ ...form.fields, name: 'x'.repeat(300_000) }).toString();
    const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const post = (path: string) =>
      fetch(`${ts.url}${path}`, {
        method: 'POST',
        headers: { ...html, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: big,
      });
    const tooBig = await post('/apps/new');
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await tooBig.text()).toContain('The form was too large');
    const api = await post('/api/v1/apps');
    expect(api.status).toBe(413);
    expect(api.headers.get('content-type')).toMatch(/json/);
  });
});

describe('changes that need review again, review without scopes, the audit of a change', () => {
  /** A signed-up developer's public app with an https callback and `profile:read`, approved by the admin. */
  async function approvedPublicApp() {
    const { b } = await signup();
    const id = appIdOf(
      await createApp(b, {
        name: 'Listed app',
        visibility: 'public',
        callback_url: 'https://listed.acme-corp.io/cb',
      }),
    );
    await b.submit(await b.get(`/apps/${id}/oauth`), `/apps/${id}/oauth/scopes`, { scopes: 'profile:read' });
    expect((await b.submit(await b.get(`/apps/${id}`), `/apps/${id}/submit`)).status).toBe(303);
    const admin = new Browser(ts.url);
    await admin.submit(await admin.get('/login'), '/login', ts.admin);
    await admin.submit(await admin.get('/admin/review'), `/admin/review/${id}/approve`);
    expect((await b.get(`/apps/${id}`)).html).toContain('Approved: users of every tenant');
    return { b, id };
  }
  const events = async (appId: string) =>
    (await listAuditEvents(ts.server.services.ctx, { appId, limit: 100 })).items;
  /** The confirmation form's fields, repeated names (scopes) kept, as the browser would post them. */
  const confirmBody = (html: string) => {
    const form = [...html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/g)]
      .map((m) => m[1]!)
      .find((f) => f.includes('name="confirm" value="yes"'))!;
    const body = new URLSearchParams();
    for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
      body.append(
        m[1]!,
        m[2]!
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, '&'),
      );
    return body.toString();
  };
  const appRow = (id: string) =>
    ts.server.services.ctx.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('adding a scope to an approved app asks first; saved, it awaits review while the approved version stays live', async () => {
    const { b, id } = await approvedPublicApp();
    const tab = await b.get(`/apps/${id}/oauth`);
    const asked = await b.submit(tab, `/apps/${id}/oauth/scopes`, { scopes: 'profile:read' });
    expect(asked.status).toBe(303); // unchanged scopes: nothing to confirm
    const form = new URLSearchParams();
    for (const s of ['profile:read', 'contacts:read']) form.append('scopes', s);
    form.append(
      'csrf',
      parseForms(tab.html).find((f) => f.action === `/apps/${id}/oauth/scopes`)!.fields.csrf!,
    );
    const confirm = await b.post(`/apps/${id}/oauth/scopes`, form.toString());
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('This change needs review');
    expect(confirm.html).toContain('Listed app is approved.');
    expect(confirm.html).toContain('the approved version stays live');
    expect(confirm.html).toContain('added scopes (contacts:read)');
    expect((await appRow(id)).status).toBe('approved'); // nothing saved yet
    expect((await appRow(id)).scopes).toBe('profile:read');
    expect(confirm.html).toContain(`href="/apps/${id}/oauth">Cancel`);

    const saved = await b.post(`/apps/${id}/oauth/scopes`, confirmBody(confirm.html));
    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`/apps/${id}/oauth?notice=scopes-pending`);
    const tabAfter = await b.get(saved.location!);
    expect(tabAfter.html).toContain('The change awaits review; the approved version stays live');
    expect(tabAfter.html).toContain('Change awaiting review');
    const row = await appRow(id);
    expect(row.status).toBe('approved');
    expect(row.scopes).toBe('profile:read');
    const basic = await b.get(`/apps/${id}`);
    expect(basic.html).toContain('Change awaiting review');
    expect(basic.html).toContain('added scopes (contacts:read)');
    expect(basic.html).toContain('Approved: users of every tenant');
    const review = (await events(id)).filter((e) => e.type === 'app.review_required');
    expect(review).toHaveLength(1);
    expect(review[0]!.data).toMatchObject({ fields: ['scopes'], added_scopes: ['contacts:read'] });
    const audit = await b.get(`/apps/${id}/audit`);
    expect(audit.html).toContain('A change needs review');
    expect(audit.html).toContain(
      'Changing scopes (added contacts:read) waits for review; the approved version stays live',
    );
  });

  it('renaming an approved app on Basic info asks first, carrying the typed values', async () => {
    const { b, id } = await approvedPublicApp();
    const page = await b.get(`/apps/${id}`);
    const asked = await b.submit(page, `/apps/${id}`, { name: 'Renamed "app" & co' });
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('This change needs review');
    expect(asked.html).toContain('value="Renamed &quot;app&quot; &amp; co"');
    expect((await appRow(id)).name).toBe('Listed app');
    const confirmForm = parseForms(asked.html).find((f) => f.fields.confirm === 'yes')!;
    expect(confirmForm.fields.name).toBe('Renamed "app" & co');
    const saved = await b.post(`/apps/${id}`, confirmBody(asked.html));
    expect(saved.location).toBe(`/apps/${id}?notice=change-pending`);
    expect((await appRow(id)).status).toBe('approved');
    expect((await appRow(id)).name).toBe('Listed app');
    expect(JSON.parse((await appRow(id)).pending_change!).values).toEqual({ name: 'Renamed "app" & co' });

    // The form shows the pending name, so saving another field keeps the change waiting for review.
    const again = await b.get(`/apps/${id}`);
    expect(parseForms(again.html).find((f) => f.action === `/apps/${id}`)!.fields.name).toBe(
      'Renamed "app" & co',
    );
    const described = await b.submit(again, `/apps/${id}`, { description: 'Now with a description' });
    expect(described.status).toBe(303);
    expect((await appRow(id)).description).toBe('Now with a description');
    expect(JSON.parse((await appRow(id)).pending_change!).values).toEqual({ name: 'Renamed "app" & co' });
  });

  it('the owner withdraws a pending change with a button (POST, redirected); the audit log records it', async () => {
    const { b, id } = await approvedPublicApp();
    await b.post(
      `/apps/${id}`,
      confirmBody((await b.submit(await b.get(`/apps/${id}`), `/apps/${id}`, { name: 'Wider' })).html),
    );
    const page = await b.get(`/apps/${id}/oauth`);
    expect(page.html).toContain('Withdraw change');
    const withdrawn = await b.submit(page, `/apps/${id}/pending-change/withdraw`);
    expect(withdrawn.status).toBe(303);
    expect(withdrawn.location).toBe(`/apps/${id}?notice=change-withdrawn`);
    const after = await b.get(withdrawn.location!);
    expect(after.html).toContain('The change was withdrawn');
    expect(after.html).not.toContain('Change awaiting review');
    expect((await appRow(id)).pending_change).toBeNull();
    expect((await appRow(id)).name).toBe('Listed app');
    expect((await events(id)).map((e) => e.type)).toContain('app.change_withdrawn');
  });

  it('the admin review page lists a pending change with its diff; approving applies it, rejecting discards it', async () => {
    const { b, id } = await approvedPublicApp();
    const propose = async (name: string) =>
      b.post(
        `/apps/${id}`,
        confirmBody((await b.submit(await b.get(`/apps/${id}`), `/apps/${id}`, { name })).html),
      );
    await propose('First proposal');
    await propose('Second proposal'); // replaces the first
    const admin = new Browser(ts.url);
    await admin.submit(await admin.get('/login'), '/login', ts.admin);
    const queue = await admin.get('/admin/review');
    expect(queue.html).toContain('Change awaiting review.');
    expect(queue.html).toMatch(/<del>Listed app<\/del> → <ins>Second proposal<\/ins>/);
    expect(queue.html).not.toContain('First proposal');
    const rejected = await admin.submit(queue, `/admin/review/${id}/reject`, {
      reason: 'Name is misleading.',
    });
    expect(rejected.location).toBe('/admin/review?notice=rejected');
    expect((await appRow(id)).status).toBe('approved');
    expect((await appRow(id)).name).toBe('Listed app');
    expect((await appRow(id)).pending_change).toBeNull();
    expect((await b.get(`/apps/${id}`)).html).toMatch(
      /did not approve your change:<\/strong> Name is misleading\./,
    );

    await propose('Third proposal');
    const approved = await admin.submit(await admin.get('/admin/review'), `/admin/review/${id}/approve`);
    expect(approved.location).toBe('/admin/review?notice=approved');
    const row = await appRow(id);
    expect(row.status).toBe('approved');
    expect(row.name).toBe('Third proposal');
    expect(row.pending_change).toBeNull();
    expect(row.review_note).toBeNull();
    const types = (await events(id)).map((e) => e.type);
    expect(types).toContain('app.change_rejected');
    expect(types).toContain('app.change_approved');
  });

  it('the audit log names only the fields that changed, once; saving nothing records nothing', async () => {
    const { b } = await signup();
    const id = appIdOf(await createApp(b, { name: 'Audited' }));
    const before = (await events(id)).length;
    const saved = await b.submit(await b.get(`/apps/${id}`), `/apps/${id}`, {
      callback_url: 'https://audited.acme-corp.io/cb',
      visibility: 'private',
    });
    expect(saved.status).toBe(303);
    const updates = (await events(id)).filter((e) => e.type === 'app.updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.data.fields).toEqual(['callback_url']);
    expect((await b.get(`/apps/${id}/audit`)).html).toContain('Changed: callback_url<');
    await b.submit(await b.get(`/apps/${id}`), `/apps/${id}`, { visibility: 'private' });
    expect((await events(id)).length).toBe(before + 1);
  });

  it('a public app without scopes is refused at submit (redirected, with the reason) and at approval', async () => {
    const { b } = await signup();
    const id = appIdOf(
      await createApp(b, {
        name: 'No scopes',
        visibility: 'public',
        callback_url: 'https://none.acme-corp.io/cb',
      }),
    );
    const failed = await b.submit(await b.get(`/apps/${id}`), `/apps/${id}/submit`);
    expect(failed.location).toBe(`/apps/${id}?error=submit`);
    const shown = await b.get(failed.location!);
    expect(shown.html).toMatch(/Cannot submit yet.*has no scopes/s);
    expect((await appRow(id)).status).toBe('draft');

    // An app in review whose scopes were all removed since is not approved either.
    await b.submit(await b.get(`/apps/${id}/oauth`), `/apps/${id}/oauth/scopes`, { scopes: 'profile:read' });
    expect((await b.submit(await b.get(`/apps/${id}`), `/apps/${id}/submit`)).status).toBe(303);
    const tab = await b.get(`/apps/${id}/oauth`);
    const csrf = parseForms(tab.html).find((f) => f.action === `/apps/${id}/oauth/scopes`)!.fields.csrf!;
    expect((await b.post(`/apps/${id}/oauth/scopes`, { csrf })).status).toBe(303);
    expect((await appRow(id)).scopes).toBe('');
    const admin = new Browser(ts.url);
    await admin.submit(await admin.get('/login'), '/login', ts.admin);
    const refused = await admin.submit(await admin.get('/admin/review'), `/admin/review/${id}/approve`);
    expect(refused.status).not.toBe(500);
    expect((await appRow(id)).status).toBe('in_review');
  });

  it('the API holds a change as pending_change on an approved app, answers it as live, and withdraws it', async () => {
    const { app } = await createTestApp(
      ts,
      {
        visibility: 'public',
        callback_url: 'https://api.acme-corp.io/cb',
        scopes: ['profile:read'],
        default_scopes: ['profile:read'],
      },
      { status: 'approved' },
    );
    const token = await managementToken(ts);
    const res = await fetch(`${ts.url}/api/v1/apps/${app.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['profile:read', 'contacts:read'] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      scopes: string[];
      pending_change: { fields: string[]; values: { scopes: string[] }; added_scopes: string[] };
    };
    expect(body.status).toBe('approved');
    expect(body.scopes).toEqual(['profile:read']);
    expect(body.pending_change).toMatchObject({
      fields: ['scopes'],
      values: { scopes: ['profile:read', 'contacts:read'] },
      added_scopes: ['contacts:read'],
    });
    expect((await events(app.id)).map((e) => e.type)).toContain('app.review_required');
    const withdraw = await fetch(`${ts.url}/api/v1/apps/${app.id}/pending-change`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(withdraw.status).toBe(204);
    const again = await fetch(`${ts.url}/api/v1/apps/${app.id}/pending-change`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('app_no_pending_change');
  });
});

describe('consent: listed and revocable from Allow on, the redirect host shown', () => {
  it('an app allowed but not yet redeemed is a connected app; revoking asks first, then consent is asked again', async () => {
    const { app } = await createTestApp(ts, {
      name: 'Fresh consent',
      callback_url: 'https://fresh.acme-corp.io/cb',
      scopes: ['profile:read'],
      default_scopes: ['profile:read'],
    });
    const user = await createUser(ts);
    const b = new Browser(ts.url);
    const url = pkceAuthUrl(ts, app);
    const first = await authorize(b, url, { email: user.email, password: user.password });
    expect(first.sawConsent).toBe(true);
    expect(first.location).toContain('https://fresh.acme-corp.io/cb?code=');

    // No code redeemed: the consent alone lists the app.
    const list = await b.get('/account/connected-apps');
    expect(list.html).toContain('Fresh consent');
    expect(list.html).not.toContain('You have not authorized any apps');

    const asked = await b.submit(list, '/account/connected-apps/revoke');
    expect(asked.location).toBe(`/account/connected-apps?confirm=${app.id}`);
    const confirm = await b.get(asked.location!);
    expect(confirm.html).toContain('Revoke access for Fresh consent?');
    expect((await b.get(pkceAuthUrl(ts, app))).location).toContain('code='); // still allowed
    const revoked = await b.submit(confirm, '/account/connected-apps/revoke');
    expect(revoked.location).toBe('/account/connected-apps?revoked=1');
    expect((await b.get(revoked.location!)).html).toContain('You have not authorized any apps');

    const again = await b.get(pkceAuthUrl(ts, app));
    expect(again.status).toBe(200);
    expect(parseForms(again.html).some((f) => f.action === '/oauth/authorize/decision')).toBe(true);
  });

  it('the consent page names the host the user is sent back to', async () => {
    const { app } = await createTestApp(ts, {
      callback_url: 'https://return.acme-corp.io/oauth/cb',
      scopes: ['profile:read'],
      default_scopes: ['profile:read'],
    });
    const user = await createUser(ts);
    const b = new Browser(ts.url);
    await b.submit(await b.get('/login'), '/login', { email: user.email, password: user.password });
    const consent = await b.get(pkceAuthUrl(ts, app));
    expect(consent.status).toBe(200);
    expect(consent.html).toMatch(/sent back to <strong>return\.acme-corp\.io<\/strong>/);
  });
});
