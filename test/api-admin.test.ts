import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../src/domain/context.js';
import { insertUser } from '../src/domain/users.js';
import { ApiClient, fakeSessions, otherTenant } from './helpers/api.js';
import { defaultTenantId, managementToken, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let admin: ApiClient;
let appsOnly: ApiClient;
let other: Awaited<ReturnType<typeof otherTenant>>;
let tenantId: string;
let sessions: Map<string, Actor>;

beforeAll(async () => {
  ts = await startTestServer();
  admin = new ApiClient(ts, await managementToken(ts));
  appsOnly = new ApiClient(ts, await managementToken(ts, 'clavis:apps'));
  other = await otherTenant(ts);
  tenantId = await defaultTenantId(ts);
  sessions = fakeSessions(ts);
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

describe('scopes', () => {
  it('lists the catalogue with descriptions', async () => {
    const r = await appsOnly.get('/v1/scopes');
    expect(r.status).toBe(200);
    const names = r.json.items.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['contacts:read', 'contacts:write', 'clavis:apps']));
    expect(r.json.items.find((s: { name: string }) => s.name === 'clavis:admin').restricted).toBe(true);
    expect((await admin.get('/v1/scopes', { token: null })).status).toBe(401);
  });
});

describe('tenant settings', () => {
  it('GET for members, PATCH for admins (clavis:admin), validated', async () => {
    const r = await appsOnly.get('/v1/tenant/settings');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      tenant_id: tenantId,
      users_can_register_apps: true,
      secret_max_lifetime_days: 730,
      secret_allow_never_expire: false,
      leaked_secret_policy: 'revoke',
      expiry_notice_recipients: 'owner_and_admins',
    });
    const noScope = await appsOnly.patch('/v1/tenant/settings', { users_can_register_apps: false });
    expect(noScope.status).toBe(403);
    expect(noScope.headers.get('www-authenticate')).toContain('scope="clavis:admin"');
    expect((await admin.patch('/v1/tenant/settings', { secret_max_lifetime_days: 0 })).status).toBe(400);
    expect((await admin.patch('/v1/tenant/settings', { secret_max_lifetime_days: '30' })).status).toBe(400);
    expect((await admin.patch('/v1/tenant/settings', { allow_everything: true })).status).toBe(400);
    const changed = await admin.patch('/v1/tenant/settings', { secret_max_lifetime_days: 365 });
    expect(changed.json.secret_max_lifetime_days).toBe(365);
    await admin.patch('/v1/tenant/settings', { secret_max_lifetime_days: 730 });
    // Another tenant: a platform admin may name it; its own admin sees only its own.
    const b = await admin.get(`/v1/tenant/settings?tenant_id=${other.tenantId}`);
    expect(b.json.tenant_id).toBe(other.tenantId);
    expect((await appsOnly.get(`/v1/tenant/settings?tenant_id=${other.tenantId}`)).status).toBe(404);
    expect((await new ApiClient(ts, other.token).get('/v1/tenant/settings')).json.tenant_id).toBe(
      other.tenantId,
    );
  });

  it("a developer session can read but not change the tenant's settings", async () => {
    const dev = asSession('settings-dev', { id: 'user:sd', userId: 'sd', tenantId, role: 'developer' });
    expect((await dev.get('/v1/tenant/settings')).status).toBe(200);
    expect((await dev.patch('/v1/tenant/settings', { users_can_register_apps: false })).status).toBe(403);
  });
});

describe('users', () => {
  it('creates, invites, lists, changes role, disables', async () => {
    const created = await admin.post('/v1/users', {
      email: 'Dana@Acme.io',
      display_name: 'Dana',
      role: 'developer',
      password: 'a long enough password',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      email: 'dana@acme.io',
      role: 'developer',
      tenant_id: tenantId,
      disabled_at: null,
    });
    expect(created.json.initial_password).toBeNull();
    expect(created.text).not.toContain('password_hash');
    const invited = await admin.post('/v1/users', { email: 'eli@acme.io', role: 'user' });
    expect(invited.status).toBe(201);
    expect(invited.json.initial_password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect((await admin.post('/v1/users', { email: 'dana@acme.io', role: 'user' })).status).toBe(409);
    expect((await admin.post('/v1/users', { email: 'not-an-email', role: 'user' })).status).toBe(422);
    expect((await admin.post('/v1/users', { email: 'x@acme.io', role: 'owner' })).status).toBe(400);

    const list = await admin.get('/v1/users?limit=2');
    expect(list.json.items).toHaveLength(2);
    expect(list.json.next_cursor).toBeTruthy();
    const rest = await admin.get(`/v1/users?limit=2&cursor=${list.json.next_cursor}`);
    expect(rest.json.items.map((u: { email: string }) => u.email)).toContain('admin@clavis.test');
    expect(
      (await admin.get('/v1/users?role=developer')).json.items.map((u: { email: string }) => u.email),
    ).toEqual(['dana@acme.io']);

    const promoted = await admin.patch(`/v1/users/${created.json.id}`, { role: 'admin' });
    expect(promoted.json.role).toBe('admin');
    const disabled = await admin.patch(`/v1/users/${created.json.id}`, { disabled: true });
    expect(disabled.json.disabled_at).not.toBeNull();
    const enabled = await admin.patch(`/v1/users/${created.json.id}`, { disabled: false });
    expect(enabled.json.disabled_at).toBeNull();
    expect((await admin.get(`/v1/users/${created.json.id}`)).json.role).toBe('admin');
    const audit = await admin.get('/v1/audit-events?type=user.updated');
    expect(audit.json.items.length).toBeGreaterThanOrEqual(3);
  });

  it('keeps one active admin per tenant, and admins cannot demote themselves', async () => {
    const ctx = ts.server.services.ctx;
    const t = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'admin@clavis.test')
      .executeTakeFirstOrThrow();
    const self = asSession('self-admin', { id: `user:${t.id}`, userId: t.id, tenantId, role: 'admin' });
    expect((await self.patch(`/v1/users/${t.id}`, { role: 'developer' })).status).toBe(409);
    // In a tenant with a single admin, nobody can remove that admin.
    const { insertTenant } = await import('../src/domain/tenants.js');
    const lone = await insertTenant(ctx, ctx.db, { name: 'Lone', kind: 'sandbox' });
    const u = await insertUser(ctx, ctx.db, {
      tenantId: lone.id,
      email: 'lone@acme.io',
      password: 'a long enough password',
      role: 'admin',
    });
    const r = await admin.patch(`/v1/users/${u.id}`, { disabled: true });
    expect(r.status).toBe(409);
    expect(r.json.detail).toMatch(/at least one active admin/);
  });

  it('needs clavis:admin; a developer is refused; another tenant is 404', async () => {
    const noScope = await appsOnly.get('/v1/users');
    expect(noScope.status).toBe(403);
    const dev = asSession('users-dev', { id: 'user:ud', userId: 'ud', tenantId, role: 'developer' });
    expect((await dev.get('/v1/users')).status).toBe(403);
    expect((await dev.post('/v1/users', { email: 'z@acme.io', role: 'admin' })).status).toBe(403);
    const ctx = ts.server.services.ctx;
    const theirs = await insertUser(ctx, ctx.db, {
      tenantId: other.tenantId,
      email: 'bob@other.io',
      password: 'a long enough password',
      role: 'developer',
    });
    const tenantAdmin = asSession('users-admin', { id: 'user:ua', userId: 'ua', tenantId, role: 'admin' });
    expect((await tenantAdmin.get(`/v1/users/${theirs.id}`)).status).toBe(404);
    expect((await tenantAdmin.patch(`/v1/users/${theirs.id}`, { disabled: true })).status).toBe(404);
    expect((await tenantAdmin.get(`/v1/users?tenant_id=${other.tenantId}`)).status).toBe(404);
    expect(
      (await tenantAdmin.post('/v1/users', { email: 'c@x.io', role: 'user', tenant_id: other.tenantId }))
        .status,
    ).toBe(404);
    const mine = await tenantAdmin.get('/v1/users?limit=200');
    expect(mine.json.items.every((u: { tenant_id: string }) => u.tenant_id === tenantId)).toBe(true);
  });
});

describe('app requests', () => {
  it('a developer asks, an admin fulfils: the app is created, owned by the developer, with no secret', async () => {
    await admin.patch('/v1/tenant/settings', { users_can_register_apps: false });
    const ctx = ts.server.services.ctx;
    const devUser = await insertUser(ctx, ctx.db, {
      tenantId,
      email: 'dev-req@acme.io',
      password: 'a long enough password',
      role: 'developer',
    });
    const dev = asSession('req-dev', {
      id: `user:${devUser.id}`,
      userId: devUser.id,
      tenantId,
      role: 'developer',
    });
    const body = {
      name: 'Reporting',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://reports.acme.io/cb',
      scopes: ['contacts:read'],
    };
    const direct = await dev.post('/v1/apps', body);
    expect(direct.status).toBe(403);
    expect(direct.json.detail).toMatch(/app request/i);
    expect((await dev.post('/v1/app-requests', { ...body, scopes: ['clavis:admin'] })).status).toBe(422);
    const filed = await dev.post('/v1/app-requests', { ...body, justification: 'Monthly reports' });
    expect(filed.status).toBe(201);
    expect(filed.json).toMatchObject({
      status: 'pending',
      requester: `user:${devUser.id}`,
      justification: 'Monthly reports',
    });
    expect((await dev.get(`/v1/app-requests/${filed.json.id}`)).status).toBe(200);
    expect((await dev.post(`/v1/app-requests/${filed.json.id}/fulfil`)).status).toBe(403);

    const pending = await appsOnly.get('/v1/app-requests?status=pending');
    expect(pending.json.items.map((r: { id: string }) => r.id)).toContain(filed.json.id);
    const done = await appsOnly.post(`/v1/app-requests/${filed.json.id}/fulfil`, {
      name: 'Reporting (prod)',
    });
    expect(done.status).toBe(200);
    expect(done.json.request).toMatchObject({ status: 'fulfilled', app_id: done.json.app.id });
    expect(done.json.app).toMatchObject({
      name: 'Reporting (prod)',
      owner_user_id: devUser.id,
      tenant_id: tenantId,
    });
    expect(done.json.app).not.toHaveProperty('secret');
    expect((await appsOnly.post(`/v1/app-requests/${filed.json.id}/fulfil`)).status).toBe(409);
    // The developer now manages the app and makes its first secret, shown to them alone.
    const secrets = await dev.get(`/v1/apps/${done.json.app.id}/secrets`);
    expect(secrets.json.items).toEqual([]);
    expect((await dev.post(`/v1/apps/${done.json.app.id}/secrets`, {})).status).toBe(201);
    await admin.patch('/v1/tenant/settings', { users_can_register_apps: true });
  });

  it('decline needs a reason; requests are private to requester and admins; other tenants see 404', async () => {
    const a = asSession('req-a', { id: 'user:ra', userId: 'ra', tenantId, role: 'developer' });
    const b = asSession('req-b', { id: 'user:rb', userId: 'rb', tenantId, role: 'developer' });
    const filed = await a.post('/v1/app-requests', {
      name: 'Side project',
      visibility: 'private',
      client_type: 'public',
      callback_url: 'https://side.acme.io/cb',
    });
    expect(filed.status).toBe(201);
    expect((await b.get(`/v1/app-requests/${filed.json.id}`)).status).toBe(404);
    expect((await b.get('/v1/app-requests')).json.items).toEqual([]);
    expect((await a.get('/v1/app-requests')).json.items.map((r: { id: string }) => r.id)).toEqual([
      filed.json.id,
    ]);
    const otherAdmin = new ApiClient(ts, other.token);
    expect((await otherAdmin.get(`/v1/app-requests/${filed.json.id}`)).status).toBe(404);
    expect(
      (await otherAdmin.post(`/v1/app-requests/${filed.json.id}/decline`, { reason: 'no' })).status,
    ).toBe(404);
    expect((await appsOnly.post(`/v1/app-requests/${filed.json.id}/decline`, { reason: ' ' })).status).toBe(
      422,
    );
    expect((await appsOnly.post(`/v1/app-requests/${filed.json.id}/decline`, {})).status).toBe(400);
    const declined = await appsOnly.post(`/v1/app-requests/${filed.json.id}/decline`, {
      reason: 'Use the shared app.',
    });
    expect(declined.json).toMatchObject({ status: 'declined', decision_note: 'Use the shared app.' });
    expect((await a.get(`/v1/app-requests/${filed.json.id}`)).json.decision_note).toBe('Use the shared app.');
    expect((await a.post('/v1/app-requests', { name: 'x' })).status).toBe(400);
  });
});

describe('audit events', () => {
  it('filters by app and type, paginates, and keeps to the tenant', async () => {
    const app = await appsOnly.post('/v1/apps', {
      name: 'Audited',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://audited.acme.io/cb',
    });
    for (let i = 0; i < 3; i++) await appsOnly.post(`/v1/apps/${app.json.id}/secrets`, {});
    await appsOnly.patch(`/v1/apps/${app.json.id}`, { name: 'Audited 2' });
    const all = await appsOnly.get(`/v1/audit-events?app_id=${app.json.id}`);
    // Newest first (events of one millisecond may come in either order).
    const types = all.json.items.map((e: { type: string }) => e.type);
    expect(types[0]).toBe('app.updated');
    expect([...types].sort()).toEqual([
      'app.created',
      'app.updated',
      'secret.created',
      'secret.created',
      'secret.created',
      'secret.created',
    ]);
    expect(all.json.items[0]).toMatchObject({
      actor: expect.stringMatching(/^client:/),
      app_id: app.json.id,
    });
    expect(new Date(all.json.items[0].created_at).toISOString()).toBe(all.json.items[0].created_at);
    const created = await appsOnly.get(`/v1/audit-events?app_id=${app.json.id}&type=secret.created&limit=3`);
    expect(created.json.items).toHaveLength(3);
    const more = await appsOnly.get(
      `/v1/audit-events?app_id=${app.json.id}&type=secret.created&limit=3&cursor=${created.json.next_cursor}`,
    );
    expect(more.json.items).toHaveLength(1);
    expect(more.json.next_cursor).toBeNull();
    // Without app_id: a tenant admin sees its tenant only; a developer must name an app.
    const tenantWide = await appsOnly.get('/v1/audit-events?limit=200');
    expect(tenantWide.json.items.every((e: { tenant_id: string }) => e.tenant_id === tenantId)).toBe(true);
    const dev = asSession('audit-dev', { id: 'user:ad', userId: 'ad', tenantId, role: 'developer' });
    expect((await dev.get('/v1/audit-events')).status).toBe(403);
    expect((await dev.get(`/v1/audit-events?app_id=${app.json.id}`)).status).toBe(404);
    expect((await appsOnly.get('/v1/audit-events?cursor=!!')).status).toBe(400);
    expect((await appsOnly.get('/v1/audit-events?limit=500')).status).toBe(400);
  });
});
