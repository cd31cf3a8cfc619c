import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, type Page } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * Redirect after POST, errors included: every failed hub form answers 303 to a GET of its form page; that
 * page shows the errors and the typed values once, and a reload shows the clean page (nothing is posted again).
 */
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

let n = 0;
async function signup(): Promise<Browser> {
  const b = new Browser(ts.url);
  const email = `flash-${Date.now()}-${n++}@example.org`;
  const res = await b.submit(await b.get('/signup'), '/signup', {
    name: 'Dev',
    email,
    password: 'a long password 123',
  });
  expect(res.status).toBe(201);
  return b;
}

async function newApp(b: Browser): Promise<string> {
  const res = await b.submit(await b.get('/apps/new'), '/apps/new', {
    name: 'Flash app',
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'http://localhost:3000/callback',
  });
  expect(res.status).toBe(201);
  return /\/apps\/([0-9a-f-]{36})\/oauth/.exec(res.html)![1]!;
}

/** Posts a failing form and checks the whole round trip; returns the page shown after the redirect. */
async function failOnce(
  b: Browser,
  form: { page: string; action: string; fields: Record<string, string | string[]> },
  shows: { error: RegExp; typed?: string },
  /** The page the form is on, when it is no longer on the form page now. */
  from?: Page,
): Promise<Page> {
  const before = from ?? (await b.get(form.page));
  const res = await b.submit(before, form.action, form.fields as Record<string, string>);
  expect(res.status).toBe(303);
  expect(res.html).toBe('');
  const location = res.location!;
  expect(location).toMatch(new RegExp(`^${form.page}\\?flash=[A-Za-z0-9_-]+$`));
  const shown = await b.get(location);
  expect(shown.status).toBe(200);
  expect(shown.headers.get('cache-control')).toBe('no-store');
  expect(shown.html).toMatch(shows.error);
  if (shows.typed) expect(shown.html).toContain(shows.typed);
  // Read once: a reload of the same URL shows the clean page.
  const reload = await b.get(location);
  expect(reload.status).toBe(200);
  expect(reload.html).not.toMatch(shows.error);
  if (shows.typed) expect(reload.html).not.toContain(shows.typed);
  return shown;
}

describe('failed hub forms redirect, show their errors once', () => {
  it('create app and request app', async () => {
    const b = await signup();
    await failOnce(
      b,
      {
        page: '/apps/new',
        action: '/apps/new',
        fields: {
          name: '',
          visibility: 'private',
          client_type: 'confidential',
          callback_url: 'ftp://typed-here',
        },
      },
      { error: /field-error/, typed: 'value="ftp://typed-here"' },
    );
  });

  it('basic info, new secret, refresh of a revoked secret', async () => {
    const b = await signup();
    const id = await newApp(b);
    await failOnce(
      b,
      {
        page: `/apps/${id}`,
        action: `/apps/${id}`,
        fields: {
          name: '',
          description: 'Typed description',
          callback_url: 'http://localhost:3000/callback',
          visibility: 'private',
        },
      },
      { error: /field-error/, typed: 'Typed description' },
    );
    await failOnce(
      b,
      {
        page: `/apps/${id}/oauth`,
        action: `/apps/${id}/oauth/secrets`,
        fields: { description: 'Typed secret', expiry: 'custom', expires_on: '' },
      },
      { error: /Choose an expiry date\./, typed: 'value="Typed secret"' },
    );
    const tab = await b.get(`/apps/${id}/oauth`);
    const sid = /refresh-([0-9a-f-]{36})"/.exec(tab.html)![1]!;
    const revoked = await b.submit(tab, `/apps/${id}/oauth/secrets/${sid}/revoke`);
    expect(revoked.status).toBe(303);
    const shown = await failOnce(
      b,
      { page: `/apps/${id}/oauth`, action: `/apps/${id}/oauth/secrets/${sid}/refresh`, fields: {} },
      { error: /class="alert[^"]*error/ },
      tab,
    );
    expect(shown.html).not.toContain('It will not be shown again');
  });

  it('scopes', async () => {
    const b = await signup();
    const id = await newApp(b);
    await failOnce(
      b,
      { page: `/apps/${id}/oauth`, action: `/apps/${id}/oauth/scopes`, fields: { scopes: 'no-such-scope' } },
      { error: /no-such-scope/ },
    );
  });

  it('admin settings and admin users (add, role)', async () => {
    const b = await signup();
    await failOnce(
      b,
      {
        page: '/admin/settings',
        action: '/admin/settings',
        fields: {
          users_can_register_apps: 'yes',
          secret_max_lifetime_days: '99999',
          secret_allow_never_expire: 'no',
        },
      },
      { error: /between 1 and 3650/, typed: 'value="99999"' },
    );
    await failOnce(
      b,
      {
        page: '/admin/users',
        action: '/admin/users',
        fields: { email: 'bad-email', display_name: 'Typed Name', role: 'developer' },
      },
      { error: /Enter a valid email address/, typed: 'value="Typed Name"' },
    );
    const users = await b.get('/admin/users');
    const uid = /\/admin\/users\/([0-9a-f-]{36})\/role/.exec(users.html)![1]!;
    await failOnce(
      b,
      { page: '/admin/users', action: `/admin/users/${uid}/role`, fields: { role: 'superuser' } },
      { error: /Choose admin, developer or user/ },
    );
  });

  it('a flash is shown only to the session that made it', async () => {
    const b = await signup();
    const res = await b.submit(await b.get('/admin/settings'), '/admin/settings', {
      users_can_register_apps: 'yes',
      secret_max_lifetime_days: '99999',
      secret_allow_never_expire: 'no',
    });
    expect(res.status).toBe(303);
    const other = await signup();
    const seen = await other.get(res.location!);
    expect(seen.status).toBe(200);
    expect(seen.html).not.toContain('value="99999"');
    expect((await b.get(res.location!)).html).toContain('value="99999"');
  });
});
