import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './helpers/api.js';
import { Browser, parseForms } from './helpers/browser.js';
import {
  basicAuth,
  createTestApp,
  managementToken,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createUser } from './helpers/users.js';

/**
 * Control characters are refused at the boundary of each surface, in that surface's error format: a NUL
 * byte used to reach PostgreSQL (a 500) on the routes below, and other C0 controls are no part of an
 * identifier, email or URL either.
 */

let ts: TestServer;
let api: ApiClient;
let clientId: string;
let secret: string;
let appId: string;
/** A signed-in admin (hub pages) and a signed-in end user (connected apps), with their CSRF tokens. */
let admin: Browser;
let adminCsrf: string;
let user: Browser;
let userCsrf: string;

const FORM = 'application/x-www-form-urlencoded';

async function signIn(email: string, password: string): Promise<Browser> {
  const b = new Browser(ts.url);
  const page = await b.get('/login?return_to=%2F');
  const r = await b.submit(page, '/login', { email, password });
  if (r.status !== 303 || r.location?.startsWith('/login')) throw new Error(`sign-in failed: ${r.location}`);
  return b;
}

async function csrfOf(b: Browser, path: string): Promise<string> {
  const page = await b.get(path);
  const token = parseForms(page.html).find((f) => f.fields.csrf)?.fields.csrf;
  if (!token) throw new Error(`no CSRF token on ${path} (${page.status})`);
  return token;
}

/** A pre-session CSRF token and its cookie, for the sign-in and sign-up forms. */
async function preSession(path: string): Promise<{ b: Browser; csrf: string }> {
  const b = new Browser(ts.url);
  return { b, csrf: await csrfOf(b, path) };
}

beforeAll(async () => {
  ts = await startTestServer();
  api = new ApiClient(ts, await managementToken(ts));
  const created = await createTestApp(ts);
  clientId = created.app.client_id;
  secret = created.secret!;
  appId = created.app.id;
  admin = await signIn(ts.admin.email, ts.admin.password);
  adminCsrf = await csrfOf(admin, '/apps/new');
  const u = await createUser(ts);
  user = await signIn(u.email, u.password);
  userCsrf = await csrfOf(user, '/account/connected-apps');
});
afterAll(async () => ts?.close());

async function send(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${ts.url}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, type: res.headers.get('content-type') ?? '', json, text };
}

function expectOAuthRefusal(r: Awaited<ReturnType<typeof send>>) {
  expect(r.status).toBe(400);
  expect(r.json?.error).toBe('invalid_request');
  expect(r.json.error_description).toMatch(/control character/);
}

function expectProblem(r: Awaited<ReturnType<typeof send>>) {
  expect(r.status).toBe(400);
  expect(r.type).toMatch(/^application\/problem\+json/);
  expect(r.json.detail).toMatch(/control character/);
}

function expectPage(r: Awaited<ReturnType<typeof send>>) {
  expect(r.status).toBe(400);
  expect(r.type).toMatch(/^text\/html/);
  expect(r.text).toMatch(/control character/);
}

describe('protocol endpoints: RFC 6749 invalid_request', () => {
  it('answers a control character in the scope with invalid_scope (RFC 6749 §3.3 grammar)', async () => {
    const r = await send(
      'POST',
      '/oauth/token',
      { 'content-type': FORM, authorization: basicAuth(clientId, secret) },
      'grant_type=client_credentials&scope=%00',
    );
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_scope');
  });

  it('refuses a NUL client_id in the form on /oauth/token and /oauth/revoke', async () => {
    for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect'])
      expectOAuthRefusal(
        await send(
          'POST',
          path,
          { 'content-type': FORM },
          'grant_type=client_credentials&token=x&client_id=%00',
        ),
      );
  });

  it('refuses NUL and other controls in Basic credentials, raw or form-encoded', async () => {
    for (const auth of [basicAuth('\0', 'x'), basicAuth(clientId, `${secret}\u0001`), basicAuth('a\nb', 'x')])
      expectOAuthRefusal(
        await send(
          'POST',
          '/oauth/token',
          { 'content-type': FORM, authorization: auth },
          'grant_type=client_credentials',
        ),
      );
    const encoded = `Basic ${Buffer.from('%00:x').toString('base64')}`;
    expectOAuthRefusal(
      await send(
        'POST',
        '/oauth/token',
        { 'content-type': FORM, authorization: encoded },
        'grant_type=client_credentials',
      ),
    );
  });

  it('still serves a clean request, and "%2500" (the text %00) is not a control', async () => {
    const ok = await send(
      'POST',
      '/oauth/token',
      { 'content-type': FORM, authorization: basicAuth(clientId, secret) },
      'grant_type=client_credentials',
    );
    expect(ok.status).toBe(200);
    const text = await send('POST', '/oauth/revoke', { 'content-type': FORM }, 'token=x&client_id=%2500');
    expect(text.status).toBe(401);
    expect(text.json.error).toBe('invalid_client');
  });

  it('answers /oauth/authorize with an error page, never a redirect', async () => {
    const r = await send(
      'GET',
      '/oauth/authorize?response_type=code&client_id=%00&redirect_uri=https%3A%2F%2Fapp.example%2Fcb',
    );
    expectPage(r);
    const r2 = await send(
      'GET',
      `/oauth/authorize?response_type=code&client_id=${clientId}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=%07`,
    );
    expectPage(r2);
  });
});

describe('sign-in and sign-up forms: a readable page', () => {
  it('refuses NUL in the email of the sign-in form', async () => {
    const { b, csrf } = await preSession('/login?return_to=%2F');
    const r = await b.post('/login', {
      csrf,
      return_to: '/',
      email: 'a\0@b.example',
      password: 'x'.repeat(12),
    });
    expect(r.status).toBe(400);
    expect(r.html).toMatch(/control character/);
  });

  it('refuses NUL in the sign-up form', async () => {
    const { b, csrf } = await preSession('/signup');
    const r = await b.post('/signup', { csrf, name: 'N', email: 'a\0@b.example', password: 'x'.repeat(12) });
    expect(r.status).toBe(400);
    expect(r.html).toMatch(/control character/);
  });
});

describe('management API: problem+json 400', () => {
  it('refuses NUL path parameters and query values', async () => {
    const auth = { authorization: `Bearer ${await managementToken(ts)}` };
    for (const path of [
      '/api/v1/apps/%00',
      '/api/v1/users/%00',
      '/api/v1/app-requests/%00',
      '/api/v1/audit-events?app_id=%00',
      `/api/v1/apps/${appId}/secrets/%00`,
      '/api/v1/apps?q=%1b',
    ])
      expectProblem(await send('GET', path, auth));
  });

  it('refuses a NUL in a JSON body (user creation) with a 4xx problem, never a 500', async () => {
    const r = await api.post('/v1/users', { email: 'a\u0000@b.example', role: 'user' });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const d = await api.patch(`/v1/apps/${appId}`, { description: 'a\u0000b' });
    expect(d.status).toBe(422);
    const key = await api.patch(`/v1/apps/${appId}`, { 'a\u0001': 'x' });
    expect(key.status).toBe(400);
    expect(key.json.detail).toMatch(/control character/);
  });

  it('leaves JSON values to the field rules: line breaks in a description, none in a name', async () => {
    const ok = await api.patch(`/v1/apps/${appId}`, { description: 'line one\r\nline two\tend' });
    expect(ok.status).toBe(200);
    expect(ok.json.description).toBe('line one\r\nline two\tend');
    expect((await api.patch(`/v1/apps/${appId}`, { name: 'two\nlines' })).status).toBe(422);
    expect((await api.patch(`/v1/apps/${appId}`, { description: 'ding\u0007' })).status).toBe(422);
  });
});

describe('hub: a readable 400 page', () => {
  it('refuses NUL in a hub path with an id', async () => {
    for (const path of ['/apps/%00', '/apps/%00/oauth', '/apps/%00/audit']) {
      const r = await admin.get(path);
      expect(r.status, path).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(r.html).toMatch(/control character/);
    }
    const post = await admin.post('/admin/users/%00/disable', { csrf: adminCsrf });
    expect(post.status).toBe(400);
    expect(post.html).toMatch(/control character/);
  });

  it('refuses NUL in a hub form field, and keeps line breaks in a description', async () => {
    const bad = await admin.post(`/apps/${appId}`, { csrf: adminCsrf, name: 'x\0y', description: '' });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/control character/);
    const page = await admin.get(`/apps/${appId}`);
    const good = await admin.submit(page, `/apps/${appId}`, { description: 'first\r\nsecond' });
    expect(good.status).toBe(303);
  });

  it('refuses NUL in the connected-apps revoke form', async () => {
    const r = await user.post('/account/connected-apps/revoke', { csrf: userCsrf, app_id: '\0' });
    expect(r.status).toBe(400);
    expect(r.html).toMatch(/control character/);
  });
});
