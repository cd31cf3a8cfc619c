import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApi, updateApi } from '../src/domain/apis.js';
import {
  grantAppPermission,
  removeAppPermission,
  requestAppPermission,
} from '../src/domain/app-permissions.js';
import type { App } from '../src/domain/apps.js';
import type { Actor } from '../src/domain/context.js';
import { authorize, Browser } from './helpers/browser.js';
import { authUrl, pkce, token } from './helpers/flow.js';
import { adminActor, createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createTenant, createUser, type TestUser } from './helpers/users.js';

/** Tokens for an organisation's own APIs: resource/audience, scopes per API, the JWT, consent by API. */
let ts: TestServer;
let admin: Actor;
let api: Api;
let client: { app: App; secret: string };
const opts = { [oauth.allowInsecureRequests]: true } as const;

const ctx = () => ts.server.services.ctx;
const cc = (body: Record<string, string> = {}, c = client) =>
  token(ts, c.app, c.secret, { grant_type: 'client_credentials', ...body });

beforeAll(async () => {
  ts = await startTestServer();
  admin = await adminActor(ts);
  api = await createApi(ctx(), admin, {
    identifier: 'https://orders.example.com/api',
    name: 'Orders API',
    scopes: [
      { name: 'orders:read', description: 'Read your orders', admin_consent_required: false },
      { name: 'orders:write', description: 'Change your orders', admin_consent_required: true },
      { name: 'orders:export', description: 'Export orders', admin_consent_required: false },
    ],
    access_token_ttl: 300,
  });
  const created = await createTestApp(ts, { name: 'Orders client' });
  client = { app: created.app, secret: created.secret! };
  await requestAppPermission(ctx(), admin, client.app.id, api.id, ['orders:read', 'orders:write']);
});
afterAll(async () => ts?.close());

describe('client_credentials for a custom API', () => {
  it('issues a token whose aud, exp and scope are the API’s, valid for jose and oauth4webapi', async () => {
    const r = await cc({ resource: api.identifier });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ expires_in: 300, scope: 'orders:read orders:write' });
    const jwks = createRemoteJWKSet(new URL(`${ts.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(r.json.access_token, jwks, {
      issuer: ts.url,
      audience: api.identifier,
      typ: 'at+jwt',
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ aud: api.identifier, scope: 'orders:read orders:write' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);

    const issuer = new URL(ts.url);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }),
    );
    const request = new Request('https://orders.example.com/api/orders', {
      headers: { authorization: `Bearer ${r.json.access_token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, request, api.identifier, opts);
    expect(claims).toMatchObject({ client_id: client.app.client_id, scope: 'orders:read orders:write' });
    // And the token is not one for Clavis's own API.
    expect(
      (await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${r.json.access_token}` } }))
        .status,
    ).toBe(401);
  });

  it('reads audience as an alias, and the same value twice as one', async () => {
    const r = await cc({ audience: api.identifier, scope: 'orders:read' });
    expect(r.status, r.text).toBe(200);
    expect(decodeJwt(r.json.access_token)).toMatchObject({ aud: api.identifier, scope: 'orders:read' });
    const both = await cc({ resource: api.identifier, audience: api.identifier });
    expect(both.status).toBe(200);
  });

  it('refuses two APIs in one request, and unknown or invisible ones, with invalid_target', async () => {
    const two = await fetch(`${ts.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.app.client_id}:${client.secret}`).toString('base64')}`,
      },
      body: `grant_type=client_credentials&resource=${encodeURIComponent(api.identifier)}&resource=${encodeURIComponent(ts.server.services.config.apiAudience)}`,
    });
    expect(two.status).toBe(400);
    expect((await two.json()).error).toBe('invalid_target');
    expect((await cc({ resource: 'https://unknown.example.com/' })).json.error).toBe('invalid_target');
    const tenant = await createTenant(ts);
    const a = await createUser(ts, { tenantId: tenant.id, role: 'admin' });
    const hidden = await createApi(
      ctx(),
      { id: `user:${a.user.id}`, tenantId: tenant.id, userId: a.user.id, role: 'admin' },
      { identifier: 'https://hidden.example.com/api', name: 'Hidden', scopes: [] },
    );
    expect((await cc({ resource: hidden.identifier })).json.error).toBe('invalid_target');
    expect((await cc({ resource: api.identifier, audience: hidden.identifier })).json.error).toBe(
      'invalid_target',
    );
  });

  it('without resource gives today’s token: the default API, the app’s default scopes', async () => {
    const r = await cc();
    expect(r.status).toBe(200);
    expect(decodeJwt(r.json.access_token)).toMatchObject({
      aud: ts.server.services.config.apiAudience,
      scope: 'contacts:read',
    });
    expect(r.json.expires_in).toBe(ts.server.services.config.accessTokenTtl);
  });

  it('uses only granted scopes: invalid_scope for one pending, missing or not the API’s', async () => {
    const other = await createTestApp(ts, { name: 'Pending client' });
    const c = { app: other.app, secret: other.secret! };
    const owner: Actor = { id: 'user:dev', tenantId: other.app.tenant_id, role: 'developer' };
    // A developer's request waits for an admin; the developer manages the app as its owner.
    await ctx().db.updateTable('apps').set({ owner_user_id: 'dev' }).where('id', '=', c.app.id).execute();
    await requestAppPermission(ctx(), { ...owner, userId: 'dev' }, c.app.id, api.id, ['orders:read']);
    expect((await cc({ resource: api.identifier, scope: 'orders:read' }, c)).json.error).toBe(
      'invalid_scope',
    );
    expect((await cc({ resource: api.identifier, scope: 'orders:export' }, client)).json.error).toBe(
      'invalid_scope',
    );
    expect((await cc({ resource: api.identifier, scope: 'nope' }, client)).json.error).toBe('invalid_scope');
    // Without scope: every granted scope; with none granted, no token that names the API but grants nothing.
    const none = await cc({ resource: api.identifier }, c);
    expect(none.status).toBe(400);
    expect(none.json.error).toBe('invalid_scope');
    await grantAppPermission(ctx(), admin, c.app.id, api.id);
    const granted = await cc({ resource: api.identifier, scope: 'orders:read' }, c);
    expect(granted.status, granted.text).toBe(200);
    // Removed: refused on the very next request.
    await removeAppPermission(ctx(), admin, c.app.id, api.id);
    expect((await cc({ resource: api.identifier, scope: 'orders:read' }, c)).json.error).toBe(
      'invalid_scope',
    );
  });

  it('answers unauthorized_client when the API does not allow client_credentials', async () => {
    const closed = await createApi(ctx(), admin, {
      identifier: 'https://users-only.example.com/api',
      name: 'Users only',
      scopes: [{ name: 'me', description: 'You', admin_consent_required: false }],
      allow_client_credentials: false,
    });
    await requestAppPermission(ctx(), admin, client.app.id, closed.id, ['me']);
    expect((await cc({ resource: closed.identifier })).json.error).toBe('unauthorized_client');
    await updateApi(ctx(), admin, closed.id, { allow_client_credentials: true });
    expect((await cc({ resource: closed.identifier })).status).toBe(200);
  });
});

describe('authorization code for a custom API', () => {
  let user: TestUser;
  let web: { app: App; secret: string };

  beforeAll(async () => {
    user = await createUser(ts);
    const created = await createTestApp(ts, { name: 'Orders web' });
    web = { app: created.app, secret: created.secret! };
    // Pending: users may consent to orders:read and orders:export, not to orders:write (admin consent).
    await ctx().db.updateTable('apps').set({ owner_user_id: 'dev2' }).where('id', '=', web.app.id).execute();
    await requestAppPermission(
      ctx(),
      { id: 'user:dev2', userId: 'dev2', tenantId: web.app.tenant_id, role: 'developer' },
      web.app.id,
      api.id,
      ['orders:read', 'orders:write', 'orders:export'],
    );
  });

  async function code(scope: string, browser = new Browser(ts.url)) {
    const p = pkce();
    const r = await authorize(
      browser,
      authUrl(ts, {
        response_type: 'code',
        client_id: web.app.client_id,
        redirect_uri: web.app.callback_url,
        scope,
        resource: api.identifier,
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
      }),
      { email: user.email, password: user.password },
    );
    return { r, verifier: p.verifier, browser };
  }

  it('refuses a scope needing admin consent while the permission is pending', async () => {
    const { r } = await code('orders:write');
    expect(new URL(r.location!).searchParams.get('error')).toBe('invalid_scope');
  });

  it('shows the API’s name and scope descriptions, issues its token, and refreshes narrower', async () => {
    const { r, verifier, browser } = await code('orders:read orders:export');
    expect(r.sawConsent).toBe(true);
    // Connected apps describes a custom API's scopes in its own words, never as the stored `<api id>#<scope>`.
    const connected = await browser.get('/account/connected-apps');
    expect(connected.html).toContain('Read your orders (');
    expect(connected.html).toContain('<code>orders:read</code>');
    expect(connected.html).not.toContain(`${api.id}#`);
    const c = new URL(r.location!).searchParams.get('code')!;
    const t = await token(ts, web.app, web.secret, {
      grant_type: 'authorization_code',
      code: c,
      redirect_uri: web.app.callback_url,
      code_verifier: verifier,
    });
    expect(t.status, t.text).toBe(200);
    expect(decodeJwt(t.json.access_token)).toMatchObject({
      aud: api.identifier,
      scope: 'orders:read orders:export',
      sub: user.user.id,
    });
    expect(t.json.expires_in).toBe(300);
    const narrower = await token(ts, web.app, web.secret, {
      grant_type: 'refresh_token',
      refresh_token: t.json.refresh_token,
      scope: 'orders:read',
      resource: api.identifier,
    });
    expect(narrower.status, narrower.text).toBe(200);
    expect(decodeJwt(narrower.json.access_token)).toMatchObject({
      aud: api.identifier,
      scope: 'orders:read',
    });
    const elsewhere = await token(ts, web.app, web.secret, {
      grant_type: 'refresh_token',
      refresh_token: narrower.json.refresh_token,
      resource: ts.server.services.config.apiAudience,
    });
    expect(elsewhere.json.error).toBe('invalid_target');
  });

  it('signs the user in with OpenID Connect beside a token for the API, which UserInfo refuses', async () => {
    // Any app may ask for openid/profile/email whatever its resource; the access token keeps the API's scopes.
    const { r, verifier } = await code('openid email orders:read');
    const c = new URL(r.location!).searchParams.get('code');
    expect(c, r.location ?? undefined).toBeTruthy();
    const t = await token(ts, web.app, web.secret, {
      grant_type: 'authorization_code',
      code: c!,
      redirect_uri: web.app.callback_url,
      code_verifier: verifier,
    });
    expect(t.status, t.text).toBe(200);
    expect(decodeJwt(t.json.access_token)).toMatchObject({ aud: api.identifier, scope: 'orders:read' });
    const jwks = createRemoteJWKSet(new URL(`${ts.url}/.well-known/jwks.json`));
    const id = await jwtVerify(t.json.id_token, jwks, {
      issuer: ts.server.services.config.issuer,
      audience: web.app.client_id,
    });
    expect(id.payload.sub).toBe(user.user.id);
    const info = await fetch(`${ts.url}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${t.json.access_token}` },
    });
    expect(info.status).toBe(401);
    const refreshed = await token(ts, web.app, web.secret, {
      grant_type: 'refresh_token',
      refresh_token: t.json.refresh_token,
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(decodeJwt(refreshed.json.access_token)).toMatchObject({
      aud: api.identifier,
      scope: 'orders:read',
    });
    expect(decodeJwt(refreshed.json.id_token)).toMatchObject({ sub: user.user.id, aud: web.app.client_id });
  });

  it('renders the consent page grouped by API with each scope’s description and a checkbox', async () => {
    const browser = new Browser(ts.url);
    const url = authUrl(ts, {
      response_type: 'code',
      client_id: web.app.client_id,
      redirect_uri: web.app.callback_url,
      scope: 'orders:read',
      resource: api.identifier,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      prompt: 'consent',
    });
    const login = await browser.get(url);
    const { parseForms } = await import('./helpers/browser.js');
    const form = parseForms(login.html).find((f) => f.action === '/login');
    const consent = form
      ? await browser.submit(login, '/login', { email: user.email, password: user.password })
      : login;
    const page = consent.location ? await browser.get(new URL(consent.location, ts.url).toString()) : consent;
    expect(page.html).toContain('Orders API');
    expect(page.html).toContain('Read your orders');
    expect(page.html).toContain('name="consent_scope:orders:read"');
  });
});

describe('refresh to another API the grant covers (RFC 8707 §2.2)', () => {
  it('turns a default-API grant holding management scopes into a management API token', async () => {
    const user = await createUser(ts, { role: 'admin' });
    const created = await createTestApp(ts, {
      name: 'Console',
      scopes: ['contacts:read', 'clavis:apps'],
      default_scopes: ['contacts:read', 'clavis:apps'],
    });
    const p = pkce();
    const r = await authorize(
      new Browser(ts.url),
      authUrl(ts, {
        response_type: 'code',
        client_id: created.app.client_id,
        redirect_uri: created.app.callback_url,
        scope: 'contacts:read clavis:apps',
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
      }),
      { email: user.email, password: user.password },
    );
    const t = await token(ts, created.app, created.secret, {
      grant_type: 'authorization_code',
      code: new URL(r.location!).searchParams.get('code')!,
      redirect_uri: created.app.callback_url,
      code_verifier: p.verifier,
    });
    expect(decodeJwt(t.json.access_token)).toMatchObject({
      aud: ts.server.services.config.apiAudience,
      scope: 'contacts:read clavis:apps',
    });
    const management = `${ts.server.services.config.issuer}/api/management`;
    const m = await token(ts, created.app, created.secret, {
      grant_type: 'refresh_token',
      refresh_token: t.json.refresh_token,
      resource: management,
    });
    expect(m.status, m.text).toBe(200);
    expect(decodeJwt(m.json.access_token)).toMatchObject({ aud: management, scope: 'clavis:apps' });
    // The management API accepts its own audience.
    const apps = await fetch(`${ts.url}/api/v1/apps`, {
      headers: { authorization: `Bearer ${m.json.access_token}` },
    });
    expect(apps.status).toBe(200);
  });
});

describe('discovery', () => {
  it('lists the public scopes only', async () => {
    const meta = await (await fetch(`${ts.url}/.well-known/oauth-authorization-server`)).json();
    expect(meta.scopes_supported).toContain('contacts:read');
    expect(meta.scopes_supported).toContain('clavis:apps');
    expect(meta.scopes_supported).not.toContain('orders:read');
    await createApi(ctx(), admin, {
      identifier: 'https://public.example.com/api',
      name: 'Public',
      visibility: 'public',
      scopes: [{ name: 'weather:read', description: 'Weather', admin_consent_required: false }],
    });
    const after = await (await fetch(`${ts.url}/.well-known/oauth-authorization-server`)).json();
    expect(after.scopes_supported).toContain('weather:read');
  });
});
