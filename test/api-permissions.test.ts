import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorForUser } from '../src/domain/actors.js';
import type { Actor } from '../src/domain/context.js';
import { ApiClient, fakeSessions, otherTenant } from './helpers/api.js';
import { basicAuth, managementToken, postForm, startTestServer, type TestServer } from './helpers/server.js';
import { createUser } from './helpers/users.js';

// The management API's /v1/apps/{id}/permissions: which scopes of which API an app holds, requested by
// developers, granted by tenant admins (admin consent), on SQLite and PostgreSQL.
let ts: TestServer;
let platform: ApiClient;
let tenantAdmin: ApiClient; // clavis:apps only: an admin of the default tenant
let other: Awaited<ReturnType<typeof otherTenant>>;
let otherAdmin: ApiClient;
let developer: ApiClient;
let sessions: Map<string, Actor>;
let orders: { id: string; identifier: string };
let sample: { id: string; identifier: string };

beforeAll(async () => {
  ts = await startTestServer();
  platform = new ApiClient(ts, await managementToken(ts));
  tenantAdmin = new ApiClient(ts, await managementToken(ts, 'clavis:apps'));
  other = await otherTenant(ts);
  otherAdmin = new ApiClient(ts, other.token);
  sessions = fakeSessions(ts);
  const dev = await createUser(ts, { role: 'developer' });
  developer = asSession('dev', actorForUser(dev.user, 'organization'));
  const created = await tenantAdmin.post('/v1/apis', {
    identifier: 'https://orders.acme.io',
    name: 'Orders API',
    scopes: [
      { name: 'orders:read', description: 'See orders' },
      { name: 'orders:write', description: 'Change orders' },
      { name: 'orders:refund', description: 'Refund orders', admin_consent_required: true },
    ],
  });
  expect(created.status, created.text).toBe(201);
  orders = created.json;
  sample = (await tenantAdmin.get('/v1/apis')).json.items.find(
    (a: { built_in: string }) => a.built_in === 'sample',
  );
});
afterAll(async () => ts?.close());

function asSession(name: string, actor: Actor): ApiClient {
  sessions.set(name, actor);
  const c = new ApiClient(ts);
  const call = c.call.bind(c);
  c.call = (method, path, o = {}) =>
    call(method, path, {
      ...o,
      headers: { cookie: `test_session=${name}`, 'x-csrf-token': `csrf-${name}`, ...o.headers },
    });
  return c;
}

function expectProblem(
  r: { status: number; headers: Headers; json: any },
  status: number,
  field?: string,
  code?: string,
) {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  if (field) expect(r.json.errors, JSON.stringify(r.json)).toHaveProperty([field]);
  if (code) expect(r.json.code).toBe(code);
}

async function newApp(client: ApiClient, scopes: string[] = []) {
  const r = await client.post('/v1/apps', {
    name: 'Fulfilment',
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'https://fulfilment.acme.io/cb',
    scopes,
  });
  expect(r.status, r.text).toBe(201);
  return r.json as { id: string; client_id: string; secret: { value: string } };
}

const put = (c: ApiClient, appId: string, apiId: string, scopes: unknown) =>
  c.call('PUT', `/v1/apps/${appId}/permissions/${apiId}`, { body: { scopes } });

function tokenFor(app: { client_id: string; secret: { value: string } }, form: Record<string, string>) {
  return postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials', ...form },
    { authorization: basicAuth(app.client_id, app.secret.value) },
  );
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));

describe('a tenant admin', () => {
  it("PUT is granted at once; the list shows it beside the app's built-in scopes; audited", async () => {
    const app = await newApp(tenantAdmin, ['contacts:read']);
    const r = await put(tenantAdmin, app.id, orders.id, ['orders:read', 'orders:write']);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      api_id: orders.id,
      identifier: 'https://orders.acme.io',
      api_name: 'Orders API',
      scopes: ['orders:read', 'orders:write'],
      granted_scopes: ['orders:read', 'orders:write'],
      status: 'granted',
      granted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const list = await tenantAdmin.get(`/v1/apps/${app.id}/permissions`);
    expect(list.status).toBe(200);
    expect(list.json.next_cursor).toBeNull();
    expect(list.json.items).toContainEqual(r.json);
    expect(list.json.items).toContainEqual(
      expect.objectContaining({
        api_id: sample.id,
        identifier: ts.config.apiAudience,
        scopes: ['contacts:read'],
      }),
    );
    // The app object keeps its `scopes` (the built-in APIs' scopes) for existing clients.
    expect((await tenantAdmin.get(`/v1/apps/${app.id}`)).json.scopes).toEqual(['contacts:read']);
    const audit = (await tenantAdmin.get(`/v1/audit-events?app_id=${app.id}`)).json.items.map(
      (e: { type: string }) => e.type,
    );
    expect(audit).toEqual(expect.arrayContaining(['app_permission.requested', 'app_permission.granted']));
  });

  it('the token for the API carries its identifier as aud and only its granted scopes', async () => {
    const app = await newApp(tenantAdmin);
    await put(tenantAdmin, app.id, orders.id, ['orders:read', 'orders:write']);
    const all = await tokenFor(app, { resource: orders.identifier });
    expect(all.status, all.text).toBe(200);
    expect(claims(all.json.access_token)).toMatchObject({
      aud: orders.identifier,
      scope: 'orders:read orders:write',
    });
    const narrow = await tokenFor(app, { audience: orders.identifier, scope: 'orders:read' });
    expect(narrow.status, narrow.text).toBe(200);
    expect(claims(narrow.json.access_token).scope).toBe('orders:read');
    const refused = await tokenFor(app, { resource: orders.identifier, scope: 'orders:refund' });
    expect(refused.json.error).toBe('invalid_scope');

    const del = await tenantAdmin.delete(`/v1/apps/${app.id}/permissions/${orders.id}`);
    expect(del.status).toBe(204);
    const after = await tokenFor(app, { resource: orders.identifier, scope: 'orders:read' });
    expect(after.status).toBe(400);
    expect(after.json.error).toBe('invalid_scope');
    // Without `scope`, "all granted scopes" is now none: no token for the API at all (RFC 6749 §3.3).
    const bare = await tokenFor(app, { resource: orders.identifier });
    expect(bare.status).toBe(400);
    expect(bare.json.error).toBe('invalid_scope');
  });
});

describe('a developer', () => {
  it('asks (pending); cannot grant; a tenant admin grants in one action, then tokens follow', async () => {
    const app = await newApp(developer);
    const asked = await put(developer, app.id, orders.id, ['orders:read', 'orders:refund']);
    expect(asked.status, asked.text).toBe(200);
    expect(asked.json).toMatchObject({ status: 'pending', granted_at: null, granted_scopes: [] });
    // client_credentials uses only granted permissions.
    const early = await tokenFor(app, { resource: orders.identifier, scope: 'orders:read' });
    expect(early.status).toBe(400);
    expect(early.json.error).toBe('invalid_scope');
    const bare = await tokenFor(app, { resource: orders.identifier });
    expect(bare.status).toBe(400);
    expect(bare.json.error).toBe('invalid_scope');

    expectProblem(
      await developer.post(`/v1/apps/${app.id}/permissions/${orders.id}/grant`),
      403,
      undefined,
      'app_permission_grant_forbidden',
    );
    const granted = await tenantAdmin.post(`/v1/apps/${app.id}/permissions/${orders.id}/grant`);
    expect(granted.status, granted.text).toBe(200);
    expect(granted.json).toMatchObject({
      status: 'granted',
      scopes: ['orders:read', 'orders:refund'],
      granted_scopes: ['orders:read', 'orders:refund'],
      granted_at: expect.any(String),
    });
    // Granting again changes nothing.
    const again = await tenantAdmin.post(`/v1/apps/${app.id}/permissions/${orders.id}/grant`);
    expect(again.json).toEqual(granted.json);
    const t = await tokenFor(app, { resource: orders.identifier });
    expect(t.status, t.text).toBe(200);
    expect(claims(t.json.access_token).scope).toBe('orders:read orders:refund');
    expect((await developer.get(`/v1/apps/${app.id}/permissions`)).json.items).toContainEqual(granted.json);
  });

  it('may remove its own app permission; others cannot see the app', async () => {
    const app = await newApp(developer);
    await put(developer, app.id, orders.id, ['orders:read']);
    expectProblem(await otherAdmin.get(`/v1/apps/${app.id}/permissions`), 404, undefined, 'app_not_found');
    expectProblem(await otherAdmin.delete(`/v1/apps/${app.id}/permissions/${orders.id}`), 404);
    expect((await developer.delete(`/v1/apps/${app.id}/permissions/${orders.id}`)).status).toBe(204);
    expectProblem(
      await developer.delete(`/v1/apps/${app.id}/permissions/${orders.id}`),
      404,
      undefined,
      'app_permission_not_found',
    );
    expectProblem(
      await tenantAdmin.post(`/v1/apps/${app.id}/permissions/${orders.id}/grant`),
      404,
      undefined,
      'app_permission_not_found',
    );
  });
});

describe('bad input', () => {
  it('400 naming the field, 404 for unknown apps; nothing is written', async () => {
    const app = await newApp(tenantAdmin);
    const cases: Array<[unknown, number, string, string?]> = [
      [['orders:delete'], 400, 'scopes', 'app_permission_scope_invalid'],
      [[], 400, 'scopes', 'app_permission_scope_invalid'],
      ['orders:read', 400, 'scopes'],
      [[1], 400, 'scopes.0'],
    ];
    for (const [scopes, status, field, code] of cases)
      expectProblem(await put(tenantAdmin, app.id, orders.id, scopes), status, field, code);
    expectProblem(
      await tenantAdmin.call('PUT', `/v1/apps/${app.id}/permissions/${orders.id}`, {
        body: { scopes: ['orders:read'], status: 'granted' },
      }),
      400,
      'status',
    );
    expectProblem(
      await put(tenantAdmin, app.id, '00000000-0000-4000-8000-000000000000', ['x']),
      400,
      'api_id',
      'app_permission_api_invalid',
    );
    expectProblem(
      await put(tenantAdmin, 'no-such-app', orders.id, ['orders:read']),
      404,
      undefined,
      'app_not_found',
    );
    const list = (await tenantAdmin.get(`/v1/apps/${app.id}/permissions`)).json.items;
    expect(list.map((p: { api_id: string }) => p.api_id)).not.toContain(orders.id);
  });

  it("an app may not ask for another tenant's tenant API, but for a public one", async () => {
    const theirs = await otherAdmin.post('/v1/apis', {
      identifier: 'https://billing.other.io',
      name: 'Billing',
      scopes: [{ name: 'billing:read' }],
    });
    expect(theirs.status, theirs.text).toBe(201);
    const app = await newApp(tenantAdmin);
    expectProblem(
      await put(tenantAdmin, app.id, theirs.json.id, ['billing:read']),
      400,
      'api_id',
      'app_permission_api_invalid',
    );
    const pub = await platform.post('/v1/apis', {
      identifier: 'https://weather.public.io',
      name: 'Weather',
      visibility: 'public',
      scopes: [{ name: 'weather:read' }],
    });
    expect(pub.status, pub.text).toBe(201);
    const ok = await put(otherAdmin, other.appId, pub.json.id, ['weather:read']);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.status).toBe('granted');
  });
});
