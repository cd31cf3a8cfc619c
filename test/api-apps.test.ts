import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, fakeSessions, otherTenant } from './helpers/api.js';
import { defaultTenantId, managementToken, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let admin: ApiClient; // bootstrap client: clavis:apps clavis:admin (platform admin)
let appsOnly: ApiClient; // bootstrap client with clavis:apps only: an admin of the default tenant
let other: Awaited<ReturnType<typeof otherTenant>>;

beforeAll(async () => {
  ts = await startTestServer();
  admin = new ApiClient(ts, await managementToken(ts));
  appsOnly = new ApiClient(ts, await managementToken(ts, 'clavis:apps'));
  other = await otherTenant(ts);
});
afterAll(async () => ts?.close());

const newApp = (over: Record<string, unknown> = {}) => ({
  name: 'Billing sync',
  visibility: 'private',
  client_type: 'confidential',
  callback_url: 'https://billing.acme.io/oauth/callback',
  scopes: ['contacts:read'],
  ...over,
});

function expectProblem(r: { status: number; headers: Headers; json: any }, status: number) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
}

describe('authentication', () => {
  it('401 without a token, with the same invalid_token challenge as /api/v1/me', async () => {
    const r = await admin.get('/v1/apps', { token: null });
    expectProblem(r, 401);
    const me = await fetch(`${ts.url}/api/v1/me`);
    expect(r.headers.get('www-authenticate')).toBe(me.headers.get('www-authenticate'));
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="clavis", error="invalid_token", /);
  });

  it('401 invalid_token for a bad or forged token', async () => {
    for (const token of ['not-a-token', `${admin.token!.slice(0, -4)}AAAA`]) {
      const r = await admin.get('/v1/apps', { token });
      expectProblem(r, 401);
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('403 insufficient_scope without the management scope', async () => {
    const adminOnly = await managementToken(ts, 'clavis:admin');
    const r = await admin.get('/v1/apps', { token: adminOnly });
    expectProblem(r, 403);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(r.headers.get('www-authenticate')).toContain('scope="clavis:apps"');
  });

  it('a client token with clavis:apps only acts as its tenant admin: no approvals', async () => {
    const created = await appsOnly.post('/v1/apps', newApp());
    expect(created.status).toBe(201);
    const r = await appsOnly.post(`/v1/apps/${created.json.id}/approve`);
    expectProblem(r, 403);
  });

  it('every response is no-store', async () => {
    const r = await admin.get('/v1/apps');
    expect(r.headers.get('cache-control')).toBe('no-store');
  });
});

describe('apps', () => {
  it('creates a confidential app with its first secret shown once, and reads it back without the value', async () => {
    const r = await admin.post('/v1/apps', newApp({ description: 'Nightly invoices' }));
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/api/v1/apps/${r.json.id}`);
    const app = r.json;
    expect(app).toMatchObject({
      name: 'Billing sync',
      description: 'Nightly invoices',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://billing.acme.io/oauth/callback',
      scopes: ['contacts:read'],
      status: 'draft',
      tenant_id: await defaultTenantId(ts),
    });
    expect(app.id).not.toBe(app.client_id);
    expect(new Date(app.created_at).toISOString()).toBe(app.created_at);
    expect(app.secret.value).toMatch(/^[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}$/);
    expect(app.secret.hint).toBe(app.secret.value.slice(0, 3));
    const got = await admin.get(`/v1/apps/${app.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: app.id, client_id: app.client_id });
    expect(got.text).not.toContain(app.secret.value);
    expect(got.json.secret).toBeUndefined();
  });

  it('a public client has no secret', async () => {
    const r = await admin.post('/v1/apps', newApp({ client_type: 'public' }));
    expect(r.status).toBe(201);
    expect(r.json.secret).toBeNull();
  });

  it('updates with PATCH; client_id never changes', async () => {
    const { json: app } = await admin.post('/v1/apps', newApp());
    const r = await admin.patch(`/v1/apps/${app.id}`, {
      name: 'Renamed',
      description: 'x',
      scopes: ['contacts:read', 'profile:read'],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'Renamed', description: 'x', client_id: app.client_id });
    expect(r.json.scopes).toEqual(['contacts:read', 'profile:read']);
    const bad = await admin.patch(`/v1/apps/${app.id}`, { client_id: 'mine' });
    expectProblem(bad, 400);
    expect(bad.json.errors).toHaveProperty('client_id');
  });

  it('deletes: 204, then 404', async () => {
    const { json: app } = await admin.post('/v1/apps', newApp());
    const r = await admin.delete(`/v1/apps/${app.id}`);
    expect(r.status).toBe(204);
    expectProblem(await admin.get(`/v1/apps/${app.id}`), 404);
    expectProblem(await admin.delete(`/v1/apps/${app.id}`), 404);
  });

  it('submit → reject (with reason) → submit → approve; disable → enable', async () => {
    const { json: app } = await admin.post(
      '/v1/apps',
      newApp({ visibility: 'public', callback_url: 'http://localhost:3000/cb' }),
    );
    const refused = await admin.post(`/v1/apps/${app.id}/submit`);
    expectProblem(refused, 422);
    expect(refused.json.errors.callback_url).toBeTruthy();
    await admin.patch(`/v1/apps/${app.id}`, { callback_url: 'https://billing.acme.io/cb' });
    const submitted = await admin.post(`/v1/apps/${app.id}/submit`, undefined, {
      headers: { 'content-type': 'application/json' },
    });
    expect(submitted.json.status).toBe('in_review');
    expectProblem(await admin.post(`/v1/apps/${app.id}/reject`, {}), 400);
    const rejected = await admin.post(`/v1/apps/${app.id}/reject`, { reason: 'Add a privacy policy link.' });
    expect(rejected.json).toMatchObject({ status: 'rejected', review_note: 'Add a privacy policy link.' });
    expectProblem(await admin.post(`/v1/apps/${app.id}/approve`), 409);
    await admin.post(`/v1/apps/${app.id}/submit`);
    const approved = await admin.post(`/v1/apps/${app.id}/approve`);
    expect(approved.json.status).toBe('approved');
    expect((await admin.post(`/v1/apps/${app.id}/disable`)).json.status).toBe('disabled');
    expect((await admin.post(`/v1/apps/${app.id}/enable`)).json.status).toBe('draft');
    expectProblem(await admin.post(`/v1/apps/${app.id}/enable`), 409);
    const private_ = await admin.post('/v1/apps', newApp());
    expectProblem(await admin.post(`/v1/apps/${private_.json.id}/submit`), 422);
  });

  it('lists with filters and cursor pagination', async () => {
    const tag = `Pager ${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await admin.post('/v1/apps', newApp({ name: `${tag} ${i}`, client_type: 'public' }))).json.id,
      );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?q=${encodeURIComponent(tag)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await admin.get(`/v1/apps${q}`);
      expect(r.status).toBe(200);
      expect(r.json.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.json.items.map((a: { id: string }) => a.id));
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    await admin.post(`/v1/apps/${ids[0]}/disable`);
    const disabled = await admin.get(`/v1/apps?status=disabled&q=${encodeURIComponent(tag)}`);
    expect(disabled.json.items.map((a: { id: string }) => a.id)).toEqual([ids[0]]);
    const pub = await admin.get('/v1/apps?visibility=public');
    expect(pub.json.items.every((a: { visibility: string }) => a.visibility === 'public')).toBe(true);
    const byClientId = await admin.get(
      `/v1/apps?q=${(await admin.get(`/v1/apps/${ids[1]}`)).json.client_id}`,
    );
    expect(byClientId.json.items.map((a: { id: string }) => a.id)).toEqual([ids[1]]);
  });

  it('validation problems: malformed JSON, wrong types, unknown fields, bad query values → 400', async () => {
    const cases = [
      await admin.post('/v1/apps', undefined, { raw: '{"name": ' }),
      await admin.post('/v1/apps', undefined, { raw: '[]' }),
      await admin.post('/v1/apps', { ...newApp(), name: 42 }),
      await admin.post('/v1/apps', { ...newApp(), scopes: 'contacts:read' }),
      await admin.post('/v1/apps', { ...newApp(), visibility: 'secret' }),
      await admin.post('/v1/apps', { ...newApp(), is_admin: true }),
      await admin.post('/v1/apps', { name: 'No callback', visibility: 'private', client_type: 'public' }),
      await admin.post('/v1/apps', undefined, {
        raw: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      await admin.get('/v1/apps?limit=0'),
      await admin.get('/v1/apps?limit=lots'),
      await admin.get('/v1/apps?status=sleeping'),
      await admin.get('/v1/apps?cursor=garbage'),
      await admin.get('/v1/apps?colour=red'),
    ];
    for (const r of cases) {
      expect(r.status, r.text).toBeGreaterThanOrEqual(400);
      expect(r.status, r.text).toBeLessThan(500);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect(cases.slice(0, 7).every((r) => r.status === 400)).toBe(true);
    expect(cases[5]!.json.errors).toHaveProperty('is_admin');
    expect(cases[6]!.json.errors).toHaveProperty('callback_url');
    expect(cases[11]!.json.errors).toHaveProperty('cursor');
  });

  it('domain rule violations → 422 with field errors', async () => {
    const r = await admin.post(
      '/v1/apps',
      newApp({ callback_url: 'https://x.example.org/cb#frag', scopes: ['nope:nope'] }),
    );
    expectProblem(r, 422);
    expect(r.json.errors.callback_url).toBeTruthy();
    const scopes = await admin.post('/v1/apps', newApp({ scopes: ['nope:nope'] }));
    expectProblem(scopes, 422);
    expect(scopes.json.errors.scopes).toContain('nope:nope');
  });

  it('unknown routes under /api answer problem+json 404', async () => {
    expectProblem(await admin.get('/v1/nothing-here'), 404);
  });
});

describe('tenant isolation', () => {
  it("another tenant's app is 404 for every app route", async () => {
    const id = other.appId;
    const calls = [
      appsOnly.get(`/v1/apps/${id}`),
      appsOnly.patch(`/v1/apps/${id}`, { name: 'x' }),
      appsOnly.delete(`/v1/apps/${id}`),
      appsOnly.post(`/v1/apps/${id}/submit`),
      appsOnly.post(`/v1/apps/${id}/disable`),
      appsOnly.post(`/v1/apps/${id}/enable`),
      appsOnly.get(`/v1/apps/${id}/secrets`),
      appsOnly.post(`/v1/apps/${id}/secrets`, {}),
      appsOnly.post(`/v1/apps/${id}/secrets/any/refresh`),
      appsOnly.delete(`/v1/apps/${id}/secrets/any`),
      appsOnly.get(`/v1/audit-events?app_id=${id}`),
    ];
    for (const r of await Promise.all(calls)) expectProblem(r, 404);
    const list = await appsOnly.get('/v1/apps?limit=200');
    expect(list.json.items.some((a: { id: string }) => a.id === id)).toBe(false);
  });

  it("the other tenant's own client sees its apps and not ours", async () => {
    const b = new ApiClient(ts, other.token);
    const mine = await admin.post('/v1/apps', newApp());
    expectProblem(await b.get(`/v1/apps/${mine.json.id}`), 404);
    expectProblem(await b.get(`/v1/apps/${mine.json.id}/secrets`), 404);
    const list = await b.get('/v1/apps');
    expect(list.json.items.map((a: { id: string }) => a.id)).toContain(other.appId);
    expect(list.json.items.every((a: { tenant_id: string }) => a.tenant_id === other.tenantId)).toBe(true);
    const created = await b.post('/v1/apps', newApp());
    expect(created.json.tenant_id).toBe(other.tenantId);
  });

  it('a platform admin (clavis:admin) reaches every tenant', async () => {
    expect((await admin.get(`/v1/apps/${other.appId}`)).status).toBe(200);
  });
});

describe('session cookie path', () => {
  it('uses the registered session resolver, and needs the CSRF header on unsafe methods', async () => {
    const sessions = fakeSessions(ts);
    const tenantId = await defaultTenantId(ts);
    sessions.set('dev1', { id: 'user:dev1', userId: 'dev1', tenantId, role: 'developer' });
    const browser = new ApiClient(ts);
    const cookie = { cookie: 'test_session=dev1' };
    const listed = await browser.get('/v1/apps', { headers: cookie });
    expect(listed.status).toBe(200);
    expect(listed.json.items).toEqual([]); // a developer sees only their own apps
    const noCsrf = await browser.post('/v1/apps', newApp(), { headers: cookie });
    expectProblem(noCsrf, 403);
    expect(noCsrf.json.detail).toContain('x-csrf-token');
    const wrongCsrf = await browser.post('/v1/apps', newApp(), {
      headers: { ...cookie, 'x-csrf-token': 'csrf-other' },
    });
    expectProblem(wrongCsrf, 403);
    const ok = await browser.post('/v1/apps', newApp(), {
      headers: { ...cookie, 'x-csrf-token': 'csrf-dev1' },
    });
    expect(ok.status).toBe(201);
    expect(ok.json.owner_user_id).toBe('dev1');
    expect((await browser.get('/v1/apps', { headers: cookie })).json.items).toHaveLength(1);
    // Someone else's app is 404 for a developer, even in the same tenant.
    const theirs = await admin.post('/v1/apps', newApp());
    expectProblem(await browser.get(`/v1/apps/${theirs.json.id}`, { headers: cookie }), 404);
    expectProblem(await browser.get('/v1/apps', { headers: { cookie: 'test_session=nobody' } }), 401);
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document with a path for every route', async () => {
    const r = await fetch(`${ts.url}/api/openapi.json`);
    expect(r.status).toBe(200);
    const doc = (await r.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    const expected: Record<string, string[]> = {
      '/api/v1/apps': ['get', 'post'],
      '/api/v1/apps/{id}': ['get', 'patch', 'delete'],
      '/api/v1/apps/{id}/submit': ['post'],
      '/api/v1/apps/{id}/approve': ['post'],
      '/api/v1/apps/{id}/reject': ['post'],
      '/api/v1/apps/{id}/disable': ['post'],
      '/api/v1/apps/{id}/enable': ['post'],
      '/api/v1/apps/{id}/secrets': ['get', 'post'],
      '/api/v1/apps/{id}/secrets/{secretId}': ['delete'],
      '/api/v1/apps/{id}/secrets/{secretId}/refresh': ['post'],
      '/api/v1/scopes': ['get'],
      '/api/v1/users': ['get', 'post'],
      '/api/v1/users/{id}': ['get', 'patch'],
      '/api/v1/tenant/settings': ['get', 'patch'],
      '/api/v1/app-requests': ['get', 'post'],
      '/api/v1/app-requests/{id}': ['get'],
      '/api/v1/app-requests/{id}/fulfil': ['post'],
      '/api/v1/app-requests/{id}/decline': ['post'],
      '/api/v1/audit-events': ['get'],
    };
    for (const [path, methods] of Object.entries(expected))
      for (const m of methods) expect(doc.paths[path]?.[m], `${m} ${path}`).toBeTruthy();
    // Beside the management API, only the OAuth endpoints (described under their own tag) and /api/v1.
    const oauthOnly = (item: Record<string, { tags?: string[] }>) =>
      Object.values(item).every((op) => op.tags?.includes('OAuth 2.0'));
    expect(
      Object.entries<any>(doc.paths).every(([p, item]) => p.startsWith('/api/v1/') || oauthOnly(item)),
    ).toBe(true);
    const created = doc.paths['/api/v1/apps'].post;
    const appSchema = created.responses['201'].content['application/json'].schema;
    for (const f of [
      'id',
      'client_id',
      'tenant_id',
      'name',
      'visibility',
      'client_type',
      'callback_url',
      'scopes',
      'status',
      'created_at',
    ])
      expect(appSchema.properties).toHaveProperty(f);
    expect(created.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    const list =
      doc.paths['/api/v1/apps/{id}/secrets'].get.responses['200'].content['application/json'].schema;
    expect(list.properties.items.items.properties).not.toHaveProperty('value');
    expect(doc.paths['/api/v1/apps/{id}'].get.responses['404'].content).toHaveProperty(
      'application/problem+json',
    );
    expect(doc.components.schemas).toHaveProperty('Problem');
    expect(doc.components.securitySchemes).toHaveProperty('bearer');
  });

  it('serves the docs page as HTML under the strict CSP, with only external scripts', async () => {
    const r = await fetch(`${ts.url}/api/docs`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await r.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s[1]).toMatch(/src="\/api\/docs\/static\//);
      expect(s[2]!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style|style="/);
    for (const src of [...html.matchAll(/(?:src|href)="(\/api\/docs\/static\/[^"]+)"/g)].map((m) => m[1]!)) {
      const asset = await fetch(`${ts.url}${src}`);
      await asset.arrayBuffer();
      expect(asset.status, src).toBe(200);
    }
  });
});
