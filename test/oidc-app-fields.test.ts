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

describe('on an approved public app, through the API', () => {
  const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

  async function approvedPublicApp() {
    // A public client: the device grant needs no secret, so the endpoint's answer shows what is live.
    const { json: app } = await admin.post('/v1/apps', {
      ...newApp,
      visibility: 'public',
      client_type: 'public',
    });
    expect((await admin.post(`/v1/apps/${app.id}/submit`, {})).status).toBe(200);
    const approved = await admin.post(`/v1/apps/${app.id}/approve`, {});
    expect(approved.json.status).toBe('approved');
    return approved.json;
  }

  it('holds new logout URIs and added grant types for review; the signing algorithm applies at once', async () => {
    const app = await approvedPublicApp();
    const r = await admin.patch(`/v1/apps/${app.id}`, {
      id_token_signed_response_alg: 'ES256',
      post_logout_redirect_uri: 'https://rp.acme.io/bye',
      backchannel_logout_uri: 'https://rp.acme.io/bc-logout',
      grant_types: [...app.grant_types, DEVICE],
    });
    expect(r.status).toBe(200);
    // The approved version stays live...
    expect(r.json).toMatchObject({
      status: 'approved',
      id_token_signed_response_alg: 'ES256',
      post_logout_redirect_uri: null,
      backchannel_logout_uri: null,
      grant_types: app.grant_types,
    });
    // ...and the rest waits for review.
    expect(r.json.pending_change).toMatchObject({
      fields: ['grant_types', 'post_logout_redirect_uri', 'backchannel_logout_uri'],
      values: {
        grant_types: [...app.grant_types, DEVICE],
        post_logout_redirect_uri: 'https://rp.acme.io/bye',
        backchannel_logout_uri: 'https://rp.acme.io/bc-logout',
      },
      added_grant_types: [DEVICE],
      added_scopes: [],
    });
    // The device grant is not the app's yet.
    const device = () =>
      fetch(`${ts.url}/oauth/device_authorization`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: app.client_id, scope: 'contacts:read' }).toString(),
      });
    const refused = await device();
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('unauthorized_client');

    const approved = await admin.post(`/v1/apps/${app.id}/approve`, {});
    expect(approved.json).toMatchObject({
      status: 'approved',
      pending_change: null,
      post_logout_redirect_uri: 'https://rp.acme.io/bye',
      backchannel_logout_uri: 'https://rp.acme.io/bc-logout',
      grant_types: [...app.grant_types, DEVICE],
    });
    expect((await device()).status).toBe(200);

    // Removing a URI or a grant type narrows what the app can do: it applies at once.
    const narrowed = await admin.patch(`/v1/apps/${app.id}`, {
      backchannel_logout_uri: null,
      grant_types: app.grant_types,
    });
    expect(narrowed.json).toMatchObject({
      backchannel_logout_uri: null,
      grant_types: app.grant_types,
      pending_change: null,
    });
  });

  it('a held URI can be withdrawn; the approved one stays', async () => {
    const app = await approvedPublicApp();
    await admin.patch(`/v1/apps/${app.id}`, { post_logout_redirect_uri: 'https://rp.acme.io/bye' });
    expect((await admin.post(`/v1/apps/${app.id}/approve`, {})).json.post_logout_redirect_uri).toBe(
      'https://rp.acme.io/bye',
    );
    const held = await admin.patch(`/v1/apps/${app.id}`, {
      post_logout_redirect_uri: 'https://elsewhere.acme.io/bye',
    });
    expect(held.json.post_logout_redirect_uri).toBe('https://rp.acme.io/bye');
    expect(held.json.pending_change.values).toEqual({
      post_logout_redirect_uri: 'https://elsewhere.acme.io/bye',
    });
    expect((await admin.delete(`/v1/apps/${app.id}/pending-change`)).status).toBe(204);
    const { json: after } = await admin.get(`/v1/apps/${app.id}`);
    expect(after).toMatchObject({ pending_change: null, post_logout_redirect_uri: 'https://rp.acme.io/bye' });
  });
});

describe('on an approved public app, in the hub', () => {
  it('asks for confirmation, holds the change with a Withdraw button, and shows the diff in the review queue', async () => {
    const { Browser, parseForms } = await import('./helpers/browser.js');
    const { createTestApp } = await import('./helpers/server.js');
    const { app } = await createTestApp(
      ts,
      {
        name: 'Hub OIDC app',
        visibility: 'public',
        callback_url: 'https://hub-oidc.acme.io/cb',
        scopes: ['contacts:read'],
        default_scopes: ['contacts:read'],
      },
      { status: 'approved' },
    );
    const b = new Browser(ts.url);
    await b.submit(await b.get('/login'), '/login', ts.admin);
    const tab = await b.get(`/apps/${app.id}/oauth`);
    const asked = await b.submit(tab, `/apps/${app.id}/oauth/oidc`, {
      id_token_signed_response_alg: 'RS256',
      post_logout_redirect_uri: '',
      backchannel_logout_uri: 'https://hub-oidc.acme.io/bc',
    });
    // Not saved yet: the answer asks first, naming what needs review.
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('This change needs review');
    expect(asked.html).toContain('back-channel logout URI');
    expect((await admin.get(`/v1/apps/${app.id}`)).json.pending_change).toBeNull();
    const confirm = parseForms(asked.html).find(
      (f) => f.action === `/apps/${app.id}/oauth/oidc` && f.fields.confirm === 'yes',
    )!;
    expect(confirm.fields.backchannel_logout_uri).toBe('https://hub-oidc.acme.io/bc');
    const saved = await b.post(confirm.action, confirm.fields);
    expect(saved.status).toBe(303);
    expect(saved.location).toContain('notice=oidc-pending');
    const { json } = await admin.get(`/v1/apps/${app.id}`);
    expect(json.backchannel_logout_uri).toBeNull();
    expect(json.pending_change.values).toEqual({ backchannel_logout_uri: 'https://hub-oidc.acme.io/bc' });

    // The tab shows the pending value in the form and the change with a Withdraw button.
    const after = await b.get(saved.location!);
    expect(after.html).toContain('Change awaiting review');
    expect(after.html).toContain('back-channel logout URI (https://hub-oidc.acme.io/bc)');
    const form = parseForms(after.html).find((f) => f.action === `/apps/${app.id}/oauth/oidc`)!;
    expect(form.fields.backchannel_logout_uri).toBe('https://hub-oidc.acme.io/bc');

    // Added grant types ask too.
    const grants = await b.submit(after, `/apps/${app.id}/oauth/grant-types`, {
      grant_types: 'urn:ietf:params:oauth:grant-type:device_code',
    });
    expect(grants.status).toBe(200);
    expect(grants.html).toContain('added grant types (urn:ietf:params:oauth:grant-type:device_code)');

    // The reviewer sees the live and the proposed value.
    const queue = await b.get('/admin/review');
    const item = queue.html.slice(queue.html.indexOf('Hub OIDC app'));
    expect(item).toContain('Back-channel logout URI');
    expect(item).toMatch(/<del>none<\/del> → <ins>https:\/\/hub-oidc\.acme\.io\/bc<\/ins>/);

    const withdrawn = await b.submit(after, `/apps/${app.id}/pending-change/withdraw`);
    expect(withdrawn.status).toBe(303);
    expect((await admin.get(`/v1/apps/${app.id}`)).json).toMatchObject({
      pending_change: null,
      backchannel_logout_uri: null,
    });
  });
});
