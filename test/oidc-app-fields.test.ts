import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './helpers/api.js';
import { managementToken, startTestServer, type TestServer } from './helpers/server.js';

/** The OpenID Connect app fields through the management API: PATCH, defaults, clear, and refusals. */
let ts: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  ts = await startTestServer();
  admin = new ApiClient(ts, await managementToken(ts));
});
afterAll(async () => ts?.close());

const newApp = {
  name: 'Sign-in app',
  visibility: 'private',
  client_type: 'confidential',
  callback_url: 'https://rp.acme.io/cb',
  scopes: ['contacts:read'],
};

describe('OpenID Connect app fields', () => {
  it('default to RS256 and none; PATCH sets and clears them', async () => {
    const { json: app } = await admin.post('/v1/apps', newApp);
    expect(app).toMatchObject({
      id_token_signed_response_alg: 'RS256',
      post_logout_redirect_uri: null,
      backchannel_logout_uri: null,
    });
    const set = await admin.patch(`/v1/apps/${app.id}`, {
      id_token_signed_response_alg: 'EdDSA',
      post_logout_redirect_uri: 'https://rp.acme.io/bye',
      backchannel_logout_uri: 'https://rp.acme.io/bc-logout',
    });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({
      id_token_signed_response_alg: 'EdDSA',
      post_logout_redirect_uri: 'https://rp.acme.io/bye',
      backchannel_logout_uri: 'https://rp.acme.io/bc-logout',
    });
    const cleared = await admin.patch(`/v1/apps/${app.id}`, {
      post_logout_redirect_uri: null,
      backchannel_logout_uri: '',
    });
    expect(cleared.json).toMatchObject({ post_logout_redirect_uri: null, backchannel_logout_uri: null });
  });

  it('refuses bad values with a problem naming the field, and changes nothing', async () => {
    const { json: app } = await admin.post('/v1/apps', newApp);
    for (const [field, value] of [
      ['id_token_signed_response_alg', 'none'],
      ['id_token_signed_response_alg', 'HS256'],
      ['post_logout_redirect_uri', 'not a url'],
      ['post_logout_redirect_uri', 'https://rp.acme.io/bye#frag'],
      ['backchannel_logout_uri', 'http://rp.acme.io/bc'],
      ['backchannel_logout_uri', 'https://rp.acme.io/bc#x'],
      ['backchannel_logout_uri', 'javascript:alert(1)'],
    ] as const) {
      const r = await admin.patch(`/v1/apps/${app.id}`, { [field]: value });
      expect(r.status, `${field}=${value}`).toBe(422);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.json.errors).toHaveProperty(field);
    }
    const { json: after } = await admin.get(`/v1/apps/${app.id}`);
    expect(after).toMatchObject({
      id_token_signed_response_alg: 'RS256',
      post_logout_redirect_uri: null,
      backchannel_logout_uri: null,
    });
  });
});

describe('the hub’s OAuth & access scopes tab', () => {
  it('shows the OpenID Connect settings, saves them, and shows a bad value’s error once', async () => {
    const { Browser } = await import('./helpers/browser.js');
    const b = new Browser(ts.url);
    const signup = await b.submit(await b.get('/signup'), '/signup', {
      name: 'Dev',
      email: `oidc-hub-${Date.now()}@example.org`,
      password: 'a long password 123',
    });
    expect(signup.status).toBe(201);
    const created = await b.submit(await b.get('/apps/new'), '/apps/new', {
      name: 'OIDC app',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'http://localhost:3000/callback',
    });
    const id = /\/apps\/([0-9a-f-]{36})\/oauth/.exec(created.html)![1]!;
    const tab = await b.get(`/apps/${id}/oauth`);
    expect(tab.html).toContain('ID token signing algorithm');
    const saved = await b.submit(tab, `/apps/${id}/oauth/oidc`, {
      id_token_signed_response_alg: 'ES256',
      post_logout_redirect_uri: 'http://localhost:3000/bye',
      backchannel_logout_uri: '',
    });
    expect(saved.status).toBe(303);
    const { json } = await admin.get(`/v1/apps/${id}`);
    expect(json).toMatchObject({
      id_token_signed_response_alg: 'ES256',
      post_logout_redirect_uri: 'http://localhost:3000/bye',
      backchannel_logout_uri: null,
    });
    const bad = await b.submit(await b.get(`/apps/${id}/oauth`), `/apps/${id}/oauth/oidc`, {
      id_token_signed_response_alg: 'ES256',
      post_logout_redirect_uri: '',
      backchannel_logout_uri: 'ftp://rp.example/bc',
    });
    expect(bad.status).toBe(303);
    const shown = await b.get(bad.location!);
    expect(shown.html).toContain('must use https');
    expect(shown.html).toContain('ftp://rp.example/bc');
    expect((await admin.get(`/v1/apps/${id}`)).json.post_logout_redirect_uri).toBe(
      'http://localhost:3000/bye',
    );
  });
});
