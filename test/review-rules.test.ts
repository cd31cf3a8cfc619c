import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type App,
  approveApp,
  createApp,
  disableApp,
  enableApp,
  submitApp,
  updateApp,
} from '../src/domain/apps.js';
import { ApiClient } from './helpers/api.js';
import { authorize, Browser } from './helpers/browser.js';
import { exchange, getCode, pkceAuthUrl, token } from './helpers/flow.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  managementToken,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createTenant, createUser, type TestUser } from './helpers/users.js';

/** Rules found by review: consent, prompt=none refusals, RFC 8707 resources, request objects, HTTP details. */
let ts: TestServer;
let conf: { app: App; secret: string | null };
let user: TestUser;

beforeAll(async () => {
  ts = await startTestServer();
  conf = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

const req = (app: App, extra: Record<string, string> = {}) => pkceAuthUrl(ts, app, extra);
const redirectParams = (location: string | null) => new URL(location ?? 'x:').searchParams;

describe('consent', () => {
  it('an app that asks for no scope still needs the user to consent once', async () => {
    const app = await createTestApp(ts, { scopes: [], default_scopes: [] });
    const u = await createUser(ts);
    const b = new Browser(ts.url);
    const first = await authorize(b, req(app.app), { email: u.email, password: u.password });
    expect(first.sawConsent).toBe(true);
    expect(redirectParams(first.location).get('code')).toBeTruthy();
    // Remembered from then on (a confidential client).
    expect((await authorize(b, req(app.app))).sawConsent).toBe(false);
  });
});

describe('users who may not authorize an app', () => {
  it('get a page explaining why, or with prompt=none an access_denied redirect with state and iss', async () => {
    const other = await createTenant(ts);
    const stranger = await createUser(ts, { tenantId: other.id });
    const b = new Browser(ts.url);
    const page = await authorize(b, req(conf.app), { email: stranger.email, password: stranger.password });
    expect(page.location).toBeNull();
    expect(page.page.status).toBe(403);
    const none = await authorize(b, req(conf.app, { prompt: 'none' }));
    const q = redirectParams(none.location);
    expect(none.location?.startsWith(conf.app.callback_url)).toBe(true);
    expect(q.get('error')).toBe('access_denied');
    expect(q.get('state')).toBe('s1');
    expect(q.get('iss')).toBe(ts.server.services.config.issuer);
    expect(q.get('code')).toBeNull();
  });
});

describe('resource indicators (RFC 8707)', () => {
  const audience = () => ts.server.services.config.apiAudience;

  it('the authorization endpoint refuses an unknown resource with invalid_target, and accepts the API', async () => {
    const b = new Browser(ts.url);
    const bad = await authorize(b, req(conf.app, { resource: 'https://evil.example/' }), {
      email: user.email,
      password: user.password,
    });
    expect(redirectParams(bad.location).get('error')).toBe('invalid_target');
    const ok = await authorize(b, req(conf.app, { resource: audience() }), {
      email: user.email,
      password: user.password,
    });
    expect(redirectParams(ok.location).get('code')).toBeTruthy();
  });

  it('the code and refresh grants refuse an unknown resource, without spending the code or token', async () => {
    const c = await getCode(ts, conf.app, user);
    const body = { grant_type: 'authorization_code', code: c.code, redirect_uri: conf.app.callback_url };
    const bad = await token(ts, conf.app, conf.secret, {
      ...body,
      code_verifier: c.verifier!,
      resource: 'https://evil.example/',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_target');
    const ok = await exchange(ts, conf.app, conf.secret, c.code, c.verifier);
    expect(ok.status).toBe(200);
    const rt = ok.json.refresh_token as string;
    const badRefresh = await token(ts, conf.app, conf.secret, {
      grant_type: 'refresh_token',
      refresh_token: rt,
      resource: 'https://evil.example/',
    });
    expect(badRefresh.json.error).toBe('invalid_target');
    const refreshed = await token(ts, conf.app, conf.secret, {
      grant_type: 'refresh_token',
      refresh_token: rt,
      resource: audience(),
    });
    expect(refreshed.status).toBe(200);
  });
});

describe('authorization requests', () => {
  it('request objects get their registered error codes', async () => {
    const b = new Browser(ts.url);
    const creds = { email: user.email, password: user.password };
    const r1 = await authorize(b, req(conf.app, { request: 'eyJhbGciOiJub25lIn0.e30.' }), creds);
    expect(redirectParams(r1.location).get('error')).toBe('request_not_supported');
    const r2 = await authorize(b, req(conf.app, { request_uri: 'https://app.example/r' }), creds);
    expect(redirectParams(r2.location).get('error')).toBe('request_uri_not_supported');
  });
});

describe('protocol endpoints over HTTP', () => {
  it('OPTIONS is 405 with Allow: POST', async () => {
    for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      const r = await fetch(`${ts.url}${path}`, { method: 'OPTIONS' });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
      expect((await r.json()).error).toBe('invalid_request');
    }
  });

  it('a form body declared in a charset other than UTF-8 is refused', async () => {
    const post = (contentType: string) =>
      fetch(`${ts.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: basicAuth(conf.app.client_id, conf.secret!) },
        body: 'grant_type=client_credentials',
      });
    const r = await post('application/x-www-form-urlencoded; charset=ISO-8859-1');
    expect(r.status).toBe(400);
    expect((await r.json()).error).toBe('invalid_request');
    expect((await post('application/x-www-form-urlencoded; charset="UTF-8"')).status).toBe(200);
  });

  it('every invalid_client 401 carries WWW-Authenticate', async () => {
    const none = await postForm(`${ts.url}/oauth/token`, { grant_type: 'client_credentials' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('discovery lists "none" for revocation, which public clients use', async () => {
    const meta = await (await fetch(`${ts.url}/.well-known/oauth-authorization-server`)).json();
    expect(meta.revocation_endpoint_auth_methods_supported).toContain('none');
    expect(meta.introspection_endpoint_auth_methods_supported).not.toContain('none');
  });

  it('only the canonical encoding of an access token is accepted', async () => {
    const r = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(conf.app.client_id, conf.secret!) },
    );
    const at = r.json.access_token as string;
    const sig = at.split('.')[2]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // ES256 signatures are 64 bytes: 86 characters, the last carrying 4 unused bits.
    const last = sig[sig.length - 1]!;
    const twin = alphabet[alphabet.indexOf(last) + 1]!; // same 2 significant bits, unused bits now non-zero
    expect(Buffer.from(sig.slice(0, -1) + twin, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    const variants = [`${at.slice(0, -1)}${twin}`, `${at}==`];
    const introspect = async (t: string) =>
      (
        await postForm(
          `${ts.url}/oauth/introspect`,
          { token: t },
          { authorization: basicAuth(conf.app.client_id, conf.secret!) },
        )
      ).json.active;
    expect(await introspect(at)).toBe(true);
    for (const v of variants) {
      expect(await introspect(v)).toBe(false);
      const me = await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${v}` } });
      expect(me.status).toBe(401);
    }
  });
});

describe('app rules', () => {
  it('names with control, invisible or direction characters are refused', async () => {
    const api = new ApiClient(ts, await managementToken(ts));
    for (const name of ['x\u0000y', '\u202eevil', 'Goo\u200bgle', 'tab\there']) {
      const r = await api.post('/v1/apps', {
        name,
        visibility: 'private',
        client_type: 'confidential',
        callback_url: 'https://app.example/cb',
      });
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(r.json)).toMatch(/control, invisible or text-direction/);
    }
    const ok = await api.post('/v1/apps', {
      name: 'Zoë’s CRM — 日本',
      description: 'Line one\nLine two',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
    });
    expect(ok.status).toBe(201);
  });

  it('renaming or widening an approved public app needs review again (held as its pending change); narrowing does not', async () => {
    const admin = await adminActor(ts);
    const { app } = await createTestApp(ts, {
      visibility: 'public',
      callback_url: 'https://crm.acme-prod.io/cb',
      scopes: ['contacts:read'],
      default_scopes: ['contacts:read'],
    });
    const approve = async () => {
      await submitApp(ts.server.services.ctx, admin, app.id);
      return approveApp(ts.server.services.ctx, admin, app.id);
    };
    const ctx = ts.server.services.ctx;
    expect((await approve()).status).toBe('approved');
    expect((await updateApp(ctx, admin, app.id, { description: 'new words' })).status).toBe('approved');
    const widened = await updateApp(ctx, admin, app.id, { scopes: ['contacts:read', 'contacts:write'] });
    expect(widened.status).toBe('approved');
    expect(widened.pending_change?.added_scopes).toEqual(['contacts:write']);
    expect((await approveApp(ctx, admin, app.id)).scopes).toEqual(['contacts:read', 'contacts:write']);
    const narrowed = await updateApp(ctx, admin, app.id, { scopes: ['contacts:read'] });
    expect(narrowed.status).toBe('approved');
    expect(narrowed.pending_change).toBeNull();
    expect(narrowed.scopes).toEqual(['contacts:read']);
    const renamed = await updateApp(ctx, admin, app.id, { name: 'Totally Google Login' });
    expect(renamed.pending_change?.fields).toEqual(['name']);
    expect(renamed.name).not.toBe('Totally Google Login');
  });

  it('an app an admin disabled stays disabled for its developer; one they disabled themselves they may enable', async () => {
    const ctx = ts.server.services.ctx;
    const admin = await adminActor(ts);
    const dev = await createUser(ts, { role: 'developer' });
    const devActor = {
      id: `user:${dev.user.id}`,
      userId: dev.user.id,
      tenantId: dev.user.tenant_id,
      role: 'developer' as const,
    };
    const { app } = await createApp(ctx, devActor, {
      name: 'Dev app',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
    });
    await disableApp(ctx, admin, app.id);
    await expect(enableApp(ctx, devActor, app.id)).rejects.toMatchObject({ code: 'forbidden' });
    expect((await enableApp(ctx, admin, app.id)).status).toBe('draft');
    await disableApp(ctx, devActor, app.id);
    expect((await enableApp(ctx, devActor, app.id)).status).toBe('draft');
  });
});

describe('management API', () => {
  it('a refresh event in the audit log names the secrets it replaced; its times are ISO 8601', async () => {
    const api = new ApiClient(ts, await managementToken(ts));
    const created = await api.post('/v1/apps', {
      name: 'Audit me',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
    });
    expect(created.status).toBe(201);
    const app = created.json;
    const list = await api.get(`/v1/apps/${app.id}/secrets`);
    const old = list.json.items[0].id as string;
    const refreshed = await api.post(`/v1/apps/${app.id}/secrets/${old}/refresh`);
    expect(refreshed.status).toBe(201);
    const events = await api.get(`/v1/audit-events?app_id=${app.id}&type=secret.refreshed`);
    const e = events.json.items[0];
    expect(e.secret_id).toBe(refreshed.json.id);
    expect(e.data.replaces).toEqual([old]);
    expect(e.data.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('names each invalid field once, in words', async () => {
    const api = new ApiClient(ts, await managementToken(ts));
    const missing = await api.post('/v1/apps', { name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.json.errors).toEqual({
      visibility: 'is required',
      client_type: 'is required',
      callback_url: 'is required',
    });
    expect(missing.json.detail).toBe(
      'Check the request: visibility is required; client_type is required; callback_url is required.',
    );
    const wrong = await api.post('/v1/apps', {
      name: 'x',
      visibility: 'secret',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
    });
    expect(wrong.json.errors).toEqual({ visibility: 'must be one of: private, public' });
    const extra = await api.post('/v1/apps', {
      name: 'x',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
      colour: 'red',
    });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.json.errors)).toContain('is not a field of this request');
  });

  it('checks credentials before the body: no token and a bad body is 401, not 400', async () => {
    const api = new ApiClient(ts);
    const r = await api.post('/v1/apps', {});
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const bad = await api.post('/v1/apps', {}, { token: 'not-a-token' });
    expect(bad.status).toBe(401);
  });
});
