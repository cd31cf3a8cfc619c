import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorForUser } from '../src/domain/actors.js';
import type { Actor } from '../src/domain/context.js';
import { ApiClient, fakeSessions, otherTenant } from './helpers/api.js';
import { defaultTenantId, managementToken, startTestServer, type TestServer } from './helpers/server.js';
import { createUser } from './helpers/users.js';

// The management API's /v1/apis: APIs (resource servers) with their scopes, on SQLite and PostgreSQL.
let ts: TestServer;
let platform: ApiClient; // bootstrap client with clavis:apps clavis:admin: a platform admin
let tenantAdmin: ApiClient; // bootstrap client with clavis:apps only: an admin of the default tenant
let other: Awaited<ReturnType<typeof otherTenant>>;
let otherAdmin: ApiClient; // an admin of another tenant
let developer: ApiClient; // a developer of the default tenant, through a (test) session
let sessions: Map<string, Actor>;

beforeAll(async () => {
  ts = await startTestServer();
  platform = new ApiClient(ts, await managementToken(ts));
  tenantAdmin = new ApiClient(ts, await managementToken(ts, 'clavis:apps'));
  other = await otherTenant(ts);
  otherAdmin = new ApiClient(ts, other.token);
  sessions = fakeSessions(ts);
  const dev = await createUser(ts, { role: 'developer' });
  developer = asSession('dev', actorForUser(dev.user, 'organization'));
});
afterAll(async () => ts?.close());

/** A client acting through a (test) session as `actor`, with its CSRF token. */
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
  expect(r.json).toMatchObject({ status, detail: expect.any(String) });
  if (field) expect(r.json.errors, JSON.stringify(r.json)).toHaveProperty([field]);
  if (code) expect(r.json.code).toBe(code);
}

let n = 0;
const newApi = (over: Record<string, unknown> = {}) => ({
  identifier: `https://orders-${++n}.acme.io`,
  name: 'Orders API',
  scopes: [
    { name: 'orders:read', description: 'See orders' },
    { name: 'orders:refund', description: 'Refund orders', admin_consent_required: true },
  ],
  ...over,
});

const newApp = {
  name: 'Fulfilment',
  visibility: 'private',
  client_type: 'confidential',
  callback_url: 'https://fulfilment.acme.io/cb',
};

describe('GET /v1/apis', () => {
  it('lists the two built-in APIs, which nobody deletes', async () => {
    const r = await tenantAdmin.get('/v1/apis');
    expect(r.status).toBe(200);
    expect(r.json.next_cursor).toBeNull();
    const sample = r.json.items.find((a: { built_in: string }) => a.built_in === 'sample');
    const management = r.json.items.find((a: { built_in: string }) => a.built_in === 'management');
    expect(sample).toMatchObject({
      identifier: ts.config.apiAudience,
      tenant_id: null,
      access_token_ttl: ts.config.accessTokenTtl,
      allow_client_credentials: true,
    });
    expect(sample.scopes.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['contacts:read', 'contacts:write', 'profile:read']),
    );
    expect(management.scopes.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['clavis:apps', 'clavis:admin']),
    );
    for (const builtIn of [sample, management])
      expectProblem(
        await platform.delete(`/v1/apis/${builtIn.id}?force=true`),
        409,
        undefined,
        'api_built_in',
      );
    expect((await platform.get(`/v1/apis/${sample.id}`)).status).toBe(200);
  });

  it('401 without a token, 403 with a token lacking management scopes', async () => {
    expectProblem(await tenantAdmin.get('/v1/apis', { token: null }), 401);
  });
});

describe('POST /v1/apis', () => {
  it('201 with Location; defaults; GET reads it back; it is audited', async () => {
    const body = newApi({ description: 'The shop' });
    const r = await tenantAdmin.post('/v1/apis', body);
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('location')).toBe(`/api/v1/apis/${r.json.id}`);
    expect(r.json).toEqual({
      id: expect.any(String),
      tenant_id: await defaultTenantId(ts),
      identifier: body.identifier,
      name: 'Orders API',
      description: 'The shop',
      scopes: [
        { name: 'orders:read', description: 'See orders', admin_consent_required: false },
        { name: 'orders:refund', description: 'Refund orders', admin_consent_required: true },
      ],
      access_token_ttl: ts.config.accessTokenTtl,
      allow_client_credentials: true,
      visibility: 'tenant',
      resource_server_app_ids: [],
      built_in: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const got = await tenantAdmin.get(`/v1/apis/${r.json.id}`);
    expect(got.json).toEqual(r.json);
    expect((await tenantAdmin.get('/v1/apis')).json.items.map((a: { id: string }) => a.id)).toContain(
      r.json.id,
    );
    const audit = await tenantAdmin.get('/v1/audit-events');
    expect(
      audit.json.items.some(
        (e: { type: string; data: { identifier?: string } }) =>
          e.type === 'api.created' && JSON.stringify(e.data).includes(body.identifier),
      ),
    ).toBe(true);
  });

  it('takes every field; the Idempotency-Key makes a retry safe', async () => {
    const { json: app } = await tenantAdmin.post('/v1/apps', newApp);
    const body = newApi({
      access_token_ttl: 600,
      allow_client_credentials: false,
      resource_server_app_ids: [app.id],
    });
    const headers = { 'idempotency-key': `k-${n}` };
    const first = await tenantAdmin.post('/v1/apis', body, { headers });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({
      access_token_ttl: 600,
      allow_client_credentials: false,
      resource_server_app_ids: [app.id],
    });
    const again = await tenantAdmin.post('/v1/apis', body, { headers });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
  });

  it('bad input: 400 (shape or a rule) or 409 problem+json naming the field; nothing is written', async () => {
    const before = (await tenantAdmin.get('/v1/apis')).json.items.length;
    const cases: Array<[Record<string, unknown>, number, string, string?]> = [
      [newApi({ identifier: 'orders' }), 400, 'identifier', 'api_identifier_invalid'],
      [newApi({ identifier: 'http://orders.acme.io' }), 400, 'identifier', 'api_identifier_invalid'],
      [newApi({ identifier: 'https://orders.acme.io/#x' }), 400, 'identifier', 'api_identifier_invalid'],
      [newApi({ identifier: ts.config.apiAudience }), 409, '', 'api_identifier_taken'],
      [newApi({ name: '' }), 400, 'name', 'api_name_invalid'],
      [newApi({ access_token_ttl: 59 }), 400, 'access_token_ttl', 'api_ttl_invalid'],
      [newApi({ access_token_ttl: 86401 }), 400, 'access_token_ttl', 'api_ttl_invalid'],
      [newApi({ access_token_ttl: '600' }), 400, 'access_token_ttl'],
      [newApi({ scopes: [{ name: 'a' }, { name: 'a' }] }), 400, 'scopes', 'api_scope_invalid'],
      [newApi({ scopes: [{ name: 'has space' }] }), 400, 'scopes', 'api_scope_invalid'],
      [newApi({ scopes: [{ name: 'q"uote' }] }), 400, 'scopes', 'api_scope_invalid'],
      [newApi({ scopes: [{ name: 'x', admin: true }] }), 400, 'scopes.0.admin'],
      [newApi({ visibility: 'everyone' }), 400, 'visibility'],
      [
        newApi({ resource_server_app_ids: [other.appId] }),
        400,
        'resource_server_app_ids',
        'api_resource_server_invalid',
      ],
      [newApi({ colour: 'blue' }), 400, 'colour'],
      [{ name: 'No identifier' }, 400, 'identifier'], // the schema: a required field
    ];
    for (const [body, status, field, code] of cases) {
      const r = await tenantAdmin.post('/v1/apis', body);
      expectProblem(r, status, field || undefined, code);
    }
    const taken = await tenantAdmin.post('/v1/apis', newApi());
    expect(taken.status).toBe(201);
    expectProblem(
      await otherAdmin.post('/v1/apis', newApi({ identifier: taken.json.identifier })),
      409,
      undefined,
      'api_identifier_taken',
    );
    // Nor anything a URL-normalising resource server would take for it (stop 28's review).
    const id = new URL(taken.json.identifier);
    for (const lookAlike of [
      `https://${id.hostname.toUpperCase()}`,
      `https://${id.hostname}:443`,
      `https://${id.hostname}/`,
      `https://${id.hostname}.`,
    ])
      expectProblem(
        await otherAdmin.post('/v1/apis', newApi({ identifier: lookAlike })),
        409,
        undefined,
        'api_identifier_taken',
      );
    // Nor the server's own URLs, nor its reserved scope names.
    for (const own of [ts.config.issuer, `${ts.config.issuer}/`, `${ts.config.issuer}/api/management/`])
      expectProblem(
        await otherAdmin.post('/v1/apis', newApi({ identifier: own })),
        400,
        'identifier',
        'api_identifier_invalid',
      );
    for (const reserved of ['openid', 'email', 'clavis:admin'])
      expectProblem(
        await otherAdmin.post('/v1/apis', newApi({ scopes: [{ name: reserved }] })),
        400,
        'scopes',
        'api_scope_invalid',
      );
    // A path of its own on the same host is another API.
    const sub = await otherAdmin.post('/v1/apis', newApi({ identifier: `https://${id.hostname}/v2` }));
    expect(sub.status, sub.text).toBe(201);
    expect((await tenantAdmin.get('/v1/apis')).json.items.length).toBe(before + 1);
  });

  it('403 for a developer; public only by a platform admin', async () => {
    expectProblem(await developer.post('/v1/apis', newApi()), 403, undefined, 'api_manage_forbidden');
    expectProblem(
      await tenantAdmin.post('/v1/apis', newApi({ visibility: 'public' })),
      403,
      undefined,
      'api_public_forbidden',
    );
    const pub = await platform.post('/v1/apis', newApi({ visibility: 'public' }));
    expect(pub.status, pub.text).toBe(201);
    expect(pub.json.visibility).toBe('public');
  });
});

describe('tenants and visibility', () => {
  it("another tenant's tenant API is 404 to them; a public one is listed to every tenant", async () => {
    const mine = (await tenantAdmin.post('/v1/apis', newApi())).json;
    const pub = (await platform.post('/v1/apis', newApi({ visibility: 'public' }))).json;
    expectProblem(await otherAdmin.get(`/v1/apis/${mine.id}`), 404, undefined, 'api_not_found');
    expectProblem(await otherAdmin.patch(`/v1/apis/${mine.id}`, { name: 'Mine' }), 404);
    expectProblem(await otherAdmin.delete(`/v1/apis/${mine.id}`), 404);
    const listed = (await otherAdmin.get('/v1/apis')).json.items.map((a: { id: string }) => a.id);
    expect(listed).toContain(pub.id);
    expect(listed).not.toContain(mine.id);
    expect((await otherAdmin.get(`/v1/apis/${pub.id}`)).status).toBe(200);
    // Seeing is not managing: only the owning tenant's admins (and platform admins) change it.
    expectProblem(await otherAdmin.patch(`/v1/apis/${pub.id}`, { name: 'Taken' }), 403);
    expectProblem(await tenantAdmin.get('/v1/apis/not-a-uuid'), 404);
  });

  it('a developer sees the APIs but does not change them', async () => {
    const mine = (await tenantAdmin.post('/v1/apis', newApi())).json;
    const got = await developer.get(`/v1/apis/${mine.id}`);
    expect(got.status).toBe(200);
    expectProblem(await developer.patch(`/v1/apis/${mine.id}`, { name: 'Dev' }), 403);
    expectProblem(await developer.delete(`/v1/apis/${mine.id}`), 403);
  });
});

describe('PATCH /v1/apis/{id}', () => {
  it('changes only the fields given; scopes replace the list; the identifier never changes', async () => {
    const created = (await tenantAdmin.post('/v1/apis', newApi())).json;
    const r = await tenantAdmin.patch(`/v1/apis/${created.id}`, {
      name: 'Orders',
      scopes: [{ name: 'orders:read', description: 'Read' }, { name: 'orders:write' }],
      access_token_ttl: 900,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({
      name: 'Orders',
      identifier: created.identifier,
      access_token_ttl: 900,
      allow_client_credentials: true,
      scopes: [
        { name: 'orders:read', description: 'Read', admin_consent_required: false },
        { name: 'orders:write', description: '', admin_consent_required: false },
      ],
    });
    // The object as fetched can be sent back (its identifier unchanged); a new identifier is refused.
    const { id: _, created_at: _c, updated_at: _u, tenant_id: _t, built_in: _b, ...fetched } = r.json;
    expect((await tenantAdmin.patch(`/v1/apis/${created.id}`, fetched)).status).toBe(200);
    expectProblem(
      await tenantAdmin.patch(`/v1/apis/${created.id}`, { identifier: 'https://elsewhere.acme.io' }),
      400,
      'identifier',
      'api_identifier_immutable',
    );
    expectProblem(
      await tenantAdmin.patch(`/v1/apis/${created.id}`, { access_token_ttl: 10 }),
      400,
      'access_token_ttl',
      'api_ttl_invalid',
    );
    expectProblem(await tenantAdmin.patch(`/v1/apis/${created.id}?force=maybe`, { name: 'x' }), 400, 'force');
    expect((await tenantAdmin.get(`/v1/apis/${created.id}`)).json).toMatchObject({
      identifier: created.identifier,
      access_token_ttl: 900,
    });
  });

  it('removing a scope an app holds needs force, which takes it from the app', async () => {
    const created = (await tenantAdmin.post('/v1/apis', newApi())).json;
    const { json: app } = await tenantAdmin.post('/v1/apps', newApp);
    const put = await tenantAdmin.call('PUT', `/v1/apps/${app.id}/permissions/${created.id}`, {
      body: { scopes: ['orders:read', 'orders:refund'] },
    });
    expect(put.status, put.text).toBe(200);
    const readOnly = { scopes: [{ name: 'orders:read', description: 'See orders' }] };
    expectProblem(
      await tenantAdmin.patch(`/v1/apis/${created.id}`, readOnly),
      409,
      undefined,
      'api_scope_in_use',
    );
    expect((await tenantAdmin.get(`/v1/apis/${created.id}`)).json.scopes).toHaveLength(2);
    const forced = await tenantAdmin.patch(`/v1/apis/${created.id}?force=true`, readOnly);
    expect(forced.status, forced.text).toBe(200);
    const perms = (await tenantAdmin.get(`/v1/apps/${app.id}/permissions`)).json.items;
    expect(perms.find((p: { api_id: string }) => p.api_id === created.id).scopes).toEqual(['orders:read']);
  });
});

describe('DELETE /v1/apis/{id}', () => {
  it('204 then 404; with permissions it needs force, which removes them', async () => {
    const unused = (await tenantAdmin.post('/v1/apis', newApi())).json;
    const del = await tenantAdmin.delete(`/v1/apis/${unused.id}`);
    expect(del.status).toBe(204);
    expectProblem(await tenantAdmin.get(`/v1/apis/${unused.id}`), 404, undefined, 'api_not_found');

    const used = (await tenantAdmin.post('/v1/apis', newApi())).json;
    const { json: app } = await tenantAdmin.post('/v1/apps', newApp);
    await tenantAdmin.call('PUT', `/v1/apps/${app.id}/permissions/${used.id}`, {
      body: { scopes: ['orders:read'] },
    });
    expectProblem(await tenantAdmin.delete(`/v1/apis/${used.id}`), 409, undefined, 'api_in_use');
    expect((await tenantAdmin.get(`/v1/apis/${used.id}`)).status).toBe(200);
    expect((await tenantAdmin.delete(`/v1/apis/${used.id}?force=true`)).status).toBe(204);
    const perms = (await tenantAdmin.get(`/v1/apps/${app.id}/permissions`)).json.items;
    expect(perms.map((p: { api_id: string }) => p.api_id)).not.toContain(used.id);
    const audit = (await tenantAdmin.get('/v1/audit-events')).json.items.map((e: { type: string }) => e.type);
    expect(audit).toContain('api.deleted');
  });
});

describe('OpenAPI', () => {
  it('documents the routes with their operationIds', async () => {
    const doc = await (await fetch(`${ts.url}/api/openapi.json`)).json();
    const ids = (path: string) =>
      Object.values(doc.paths[path] as Record<string, { operationId: string }>).map((o) => o.operationId);
    expect(ids('/api/v1/apis').sort()).toEqual(['createApi', 'listApis']);
    expect(ids('/api/v1/apis/{id}').sort()).toEqual(['deleteApi', 'getApi', 'updateApi']);
    expect(ids('/api/v1/apps/{id}/permissions')).toEqual(['listAppPermissions']);
    expect(ids('/api/v1/apps/{id}/permissions/{api_id}').sort()).toEqual([
      'removeAppPermission',
      'setAppPermission',
    ]);
    expect(ids('/api/v1/apps/{id}/permissions/{api_id}/grant')).toEqual(['grantAppPermission']);
  });
});
