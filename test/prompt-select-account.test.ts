import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/domain/apps.js';
import { Browser, type Page, parseForms } from './helpers/browser.js';
import { pkceAuthUrl } from './helpers/flow.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * `prompt=select_account` (OIDC Core §3.1.2.1) over real HTTP: the account chooser with a session, the
 * sign-in form without one, and `prompt=none select_account` refused. The OpenID Foundation's basic and
 * config plans have no module for it, so the tests are named for the behaviour.
 */
let ts: TestServer;
let app: App;
let bob: TestUser;
let alice: TestUser;
const CHOOSER = '/oauth/authorize/select-account';

beforeAll(async () => {
  ts = await startTestServer();
  ({ app } = await createTestApp(ts, { name: 'Chooser <App>', callback_url: 'https://rp.example/cb' }));
  bob = await createUser(ts);
  alice = await createUser(ts);
});
afterAll(async () => ts?.close());

const request = (extra: Record<string, string> = {}) =>
  pkceAuthUrl(ts, app, { scope: 'openid', prompt: 'select_account', ...extra });

async function signedIn(u: TestUser): Promise<Browser> {
  const b = new Browser(ts.url);
  const page = await b.get('/login');
  const res = await b.submit(page, '/login', { email: u.email, password: u.password });
  expect(res.status).toBe(303);
  return b;
}

function chooserForm(page: Page) {
  return parseForms(page.html).find((f) => f.action === CHOOSER);
}

describe('prompt=select_account', () => {
  it('with a session shows the account chooser: the signed-in email, two choices, a CSRF token', async () => {
    const b = await signedIn(bob);
    const page = await b.get(request());
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const form = chooserForm(page);
    expect(form).toBeDefined();
    expect(form!.method).toBe('post');
    expect(form!.fields.csrf).toMatch(/.{20,}/);
    expect(form!.buttons).toEqual([
      { name: 'choice', value: 'continue' },
      { name: 'choice', value: 'other' },
    ]);
    expect(page.html).toContain(`Continue as ${bob.email}`);
    expect(page.html).toContain('Use another account');
    expect(page.html).toContain('Chooser &lt;App>');
    // Not the sign-in form, and not consent yet.
    expect(parseForms(page.html).some((f) => f.action === '/login')).toBe(false);
    expect(parseForms(page.html).some((f) => f.action === '/oauth/authorize/decision')).toBe(false);
  });

  it('"Continue as" goes on with the request as the signed-in user, asked once (no loop)', async () => {
    const b = await signedIn(bob);
    const page = await b.get(request({ state: 'keep-me' }));
    const res = await b.submit(page, CHOOSER, {}, 'continue');
    expect(res.status).toBe(303);
    const next = new URL(res.location!, ts.url);
    expect(next.pathname).toBe('/oauth/authorize');
    expect(next.searchParams.get('prompt')).toBeNull();
    expect(next.searchParams.get('state')).toBe('keep-me');
    const consent = await b.get(res.location!);
    expect(consent.status).toBe(200);
    expect(chooserForm(consent)).toBeUndefined();
    expect(consent.html).toContain(`Signed in as ${bob.email}`);
    const back = await b.submit(consent, '/oauth/authorize/decision', {}, 'allow');
    const cb = new URL(back.location!);
    expect(cb.origin + cb.pathname).toBe('https://rp.example/cb');
    expect(cb.searchParams.get('code')).toBeTruthy();
    expect(cb.searchParams.get('state')).toBe('keep-me');
  });

  it('"Use another account" signs out of Clavis first and shows the sign-in form for the request', async () => {
    const b = await signedIn(bob);
    const page = await b.get(request({ login_hint: alice.email }));
    const res = await b.submit(page, CHOOSER, {}, 'other');
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().some((c) => /^clavis_session=;/.test(c))).toBe(true);
    expect(b.cookies.has('clavis_session')).toBe(false);
    // The hub session is over: the account pages ask for a sign-in.
    expect((await b.get('/account/connected-apps')).status).toBe(303);
    const login = await b.get(res.location!);
    expect(login.status).toBe(200);
    const form = parseForms(login.html).find((f) => f.action === '/login')!;
    expect(form).toBeDefined();
    expect(form.fields.email).toBe(alice.email);
    expect(form.fields.return_to).not.toContain('select_account');
    const after = await b.submit(login, '/login', { email: alice.email, password: alice.password });
    expect(after.status).toBe(303);
    const consent = await b.get(after.location!);
    expect(chooserForm(consent)).toBeUndefined();
    expect(consent.html).toContain(`Signed in as ${alice.email}`);
  });

  it('refuses the choice without the CSRF token of the session, and stays signed in', async () => {
    const b = await signedIn(bob);
    const page = await b.get(request());
    const form = chooserForm(page)!;
    const forged = await b.post(CHOOSER, { ...form.fields, csrf: 'x'.repeat(43), choice: 'other' });
    expect(forged.status).toBe(403);
    const missing = await b.post(CHOOSER, { request: form.fields.request!, choice: 'other' });
    expect(missing.status).toBe(403);
    expect(b.cookies.has('clavis_session')).toBe(true);
    expect((await b.get('/account/connected-apps')).status).toBe(200);
    // Neither a made-up choice nor a request that does not validate goes anywhere.
    expect((await b.post(CHOOSER, { ...form.fields, choice: 'maybe' })).status).toBe(400);
    const tampered = await b.post(CHOOSER, {
      ...form.fields,
      request: form.fields.request!.replace(app.client_id, 'no-such-client'),
      choice: 'continue',
    });
    expect(tampered.status).toBe(400);
    expect(tampered.location).toBeNull();
  });

  it('with no one signed in shows the sign-in form, which returns without the prompt', async () => {
    const carol = await createUser(ts);
    const b = new Browser(ts.url);
    const page = await b.get(request());
    expect(page.status).toBe(200);
    expect(chooserForm(page)).toBeUndefined();
    const form = parseForms(page.html).find((f) => f.action === '/login')!;
    expect(form.fields.return_to).toMatch(/^\/oauth\/authorize\?/);
    expect(form.fields.return_to).not.toContain('select_account');
    const after = await b.submit(page, '/login', { email: carol.email, password: carol.password });
    const consent = await b.get(after.location!);
    expect(chooserForm(consent)).toBeUndefined();
    expect(consent.html).toContain(`Signed in as ${carol.email}`);
  });

  it('prompt=none with select_account is invalid_request (none with any other value), sent back to the app', async () => {
    const b = await signedIn(bob);
    const res = await b.get(request({ prompt: 'none select_account', state: 'st-n' }));
    expect(res.status).toBe(302);
    const cb = new URL(res.location!);
    expect(cb.origin + cb.pathname).toBe('https://rp.example/cb');
    expect(cb.searchParams.get('error')).toBe('invalid_request');
    expect(cb.searchParams.get('state')).toBe('st-n');
    expect(cb.searchParams.get('iss')).toBe(ts.url);
  });

  it('prompt=login select_account signs in again (the sign-in form is where the account is chosen)', async () => {
    const b = await signedIn(bob);
    const page = await b.get(request({ prompt: 'login select_account' }));
    expect(page.status).toBe(200);
    expect(chooserForm(page)).toBeUndefined();
    expect(parseForms(page.html).some((f) => f.action === '/login')).toBe(true);
  });
});
