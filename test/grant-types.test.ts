import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT } from '../src/domain/app-fields.js';
import { ApiClient } from './helpers/api.js';
import { Browser, parseForms } from './helpers/browser.js';
import { getCode, token } from './helpers/flow.js';
import {
  basicAuth,
  createTestApp,
  managementToken,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createUser } from './helpers/users.js';

/** The `grant_types` app field: defaults, the management API, the hub tab, and the token endpoint's check. */
let ts: TestServer;
let api: ApiClient;
beforeAll(async () => {
  ts = await startTestServer();
  api = new ApiClient(ts, await managementToken(ts));
});
afterAll(async () => ts?.close());

const newApp = (body: Record<string, unknown>) =>
  api.post('/v1/apps', {
    name: 'Grant types app',
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'https://app.example/cb',
    scopes: ['contacts:read'],
    ...body,
  });

describe('grant_types', () => {
  it("default to today's grants: confidential apps add client_credentials; the device grant is opt-in", async () => {
    const conf = await newApp({});
    expect(conf.status).toBe(201);
    expect(conf.json.grant_types).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
    const pub = await newApp({ client_type: 'public', callback_url: 'http://127.0.0.1/cb' });
    expect(pub.json.grant_types).toEqual(['authorization_code', 'refresh_token']);
    const shown = await api.get(`/v1/apps/${conf.json.id}`);
    expect(shown.json.grant_types).toEqual(conf.json.grant_types);
    // The bootstrap CLI client may use the device grant (clavis login --device).
    const cli = await api.get('/v1/apps?q=clavis-cli');
    expect(cli.json.items[0].grant_types).toContain(DEVICE_CODE_GRANT);
  });

  it('are set on create and with PATCH, in canonical order; bad lists are 422 naming the field', async () => {
    const created = await newApp({ grant_types: [DEVICE_CODE_GRANT, 'client_credentials'] });
    expect(created.json.grant_types).toEqual(['client_credentials', DEVICE_CODE_GRANT]);
    const patched = await api.patch(`/v1/apps/${created.json.id}`, {
      grant_types: ['refresh_token', 'authorization_code'],
    });
    expect(patched.status).toBe(200);
    expect(patched.json.grant_types).toEqual(['authorization_code', 'refresh_token']);
    for (const bad of [['implicit'], [], ['password']]) {
      const r = await api.patch(`/v1/apps/${created.json.id}`, { grant_types: bad });
      expect(r.status).toBe(422);
      expect(r.json.code).toBe('app_grant_types_invalid');
      expect(Object.keys(r.json.errors)).toContain('grant_types');
    }
    const pub = await newApp({
      client_type: 'public',
      callback_url: 'http://127.0.0.1/cb',
      grant_types: ['client_credentials'],
    });
    expect(pub.status).toBe(422);
    expect(pub.json.code).toBe('app_grant_types_invalid');
    const unchanged = await api.get(`/v1/apps/${created.json.id}`);
    expect(unchanged.json.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });

  it('the token endpoint refuses a grant type the app does not have with unauthorized_client', async () => {
    const { app, secret } = await createTestApp(ts);
    const ok = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, secret!) },
    );
    expect(ok.status).toBe(200);
    await api.patch(`/v1/apps/${app.id}`, { grant_types: ['authorization_code'] });
    const refused = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, secret!) },
    );
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('unauthorized_client');

    // The code flow still works, without a refresh token (the app could not use one); a refresh request
    // is refused before the token is even looked at.
    const user = await createUser(ts);
    const c = await getCode(ts, app, user);
    const exchanged = await token(ts, app, secret, {
      grant_type: 'authorization_code',
      code: c.code,
      redirect_uri: app.callback_url,
      code_verifier: c.verifier!,
    });
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.access_token).toBeTypeOf('string');
    expect(exchanged.json.refresh_token).toBeUndefined();
    const refresh = await token(ts, app, secret, {
      grant_type: 'refresh_token',
      refresh_token: 'any',
    });
    expect(refresh.json.error).toBe('unauthorized_client');
    // Wrong credentials are still invalid_client, not a hint about the grant types.
    const wrong = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, 'wrong') },
    );
    expect(wrong.json.error).toBe('invalid_client');
  });

  it('the hub tab shows and saves them, with CSRF', async () => {
    const { app } = await createTestApp(ts);
    const b = new Browser(ts.url);
    const login = await b.get('/login');
    await b.submit(login, '/login', { email: ts.admin.email, password: ts.admin.password });
    const tab = await b.get(`/apps/${app.id}/oauth`);
    expect(tab.status).toBe(200);
    const form = parseForms(tab.html).find((f) => f.action === `/apps/${app.id}/oauth/grant-types`);
    expect(form).toBeDefined();
    expect(tab.html).toContain(DEVICE_CODE_GRANT);
    const body = new URLSearchParams({ csrf: form!.fields.csrf! });
    for (const g of ['authorization_code', DEVICE_CODE_GRANT]) body.append('grant_types', g);
    const saved = await b.post(`/apps/${app.id}/oauth/grant-types`, body.toString());
    expect(saved.status).toBe(303);
    expect(saved.location).toContain('notice=grant-types-saved');
    expect((await api.get(`/v1/apps/${app.id}`)).json.grant_types).toEqual([
      'authorization_code',
      DEVICE_CODE_GRANT,
    ]);
    const forged = await b.post(
      `/apps/${app.id}/oauth/grant-types`,
      'csrf=forged&grant_types=client_credentials',
    );
    expect(forged.status).toBeGreaterThanOrEqual(400);
    const empty = await b.post(`/apps/${app.id}/oauth/grant-types`, `csrf=${form!.fields.csrf}`);
    const shown = empty.status === 303 ? await b.get(empty.location!) : empty;
    expect(shown.html).toContain('Choose at least one grant type.');
    expect((await api.get(`/v1/apps/${app.id}`)).json.grant_types).toEqual([
      'authorization_code',
      DEVICE_CODE_GRANT,
    ]);
  });
});
