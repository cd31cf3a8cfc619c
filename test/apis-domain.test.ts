import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../src/db/database.js';
import { migrationProvider } from '../src/db/migrations/index.js';
import {
  type ApiInput,
  BUILT_IN_API_IDS,
  createApi,
  deleteApi,
  getApi,
  listApis,
  updateApi,
} from '../src/domain/apis.js';
import {
  grantAppPermission,
  listAppPermissions,
  removeAppPermission,
  requestAppPermission,
} from '../src/domain/app-permissions.js';
import { updateApp } from '../src/domain/apps.js';
import type { Actor } from '../src/domain/context.js';
import { DomainError } from '../src/domain/errors.js';
import { createTestDatabase } from './helpers/db.js';
import { adminActor, createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createTenant, createUser } from './helpers/users.js';

/** The APIs domain: built-in APIs, validation, who may do what, app permissions, audit. */
let ts: TestServer;
let platform: Actor;
let tenantId: string;
let tenantAdmin: Actor;
let developer: Actor;
let otherAdmin: Actor;

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
}

const ctx = () => ts.server.services.ctx;
const countApis = async () => (await ctx().db.selectFrom('apis').select('id').execute()).length;
const auditTypes = async (type: string) =>
  ctx().db.selectFrom('audit_events').selectAll().where('type', '=', type).execute();

let seq = 0;
const input = (over: Partial<ApiInput> = {}): ApiInput => ({
  identifier: `https://api${++seq}.example.com/v1`,
  name: 'Orders API',
  scopes: [
    { name: 'orders:read', description: 'Read orders', admin_consent_required: false },
    { name: 'orders:write', description: 'Change orders', admin_consent_required: true },
  ],
  ...over,
});

beforeAll(async () => {
  ts = await startTestServer();
  platform = await adminActor(ts);
  const tenant = await createTenant(ts);
  tenantId = tenant.id;
  const a = await createUser(ts, { tenantId, role: 'admin' });
  tenantAdmin = { id: `user:${a.user.id}`, tenantId, userId: a.user.id, role: 'admin' };
  const d = await createUser(ts, { tenantId, role: 'developer' });
  developer = { id: `user:${d.user.id}`, tenantId, userId: d.user.id, role: 'developer' };
  const other = await createTenant(ts);
  const o = await createUser(ts, { tenantId: other.id, role: 'admin' });
  otherAdmin = { id: `user:${o.user.id}`, tenantId: other.id, userId: o.user.id, role: 'admin' };
});
afterAll(async () => ts?.close());

describe('built-in APIs', () => {
  it('exist on every server, with the sample API at CLAVIS_API_AUDIENCE', async () => {
    const apis = await listApis(ctx(), developer);
    const management = apis.find((a) => a.built_in === 'management')!;
    const sample = apis.find((a) => a.built_in === 'sample')!;
    expect(sample.id).toBe(BUILT_IN_API_IDS.sample);
    expect(sample.identifier).toBe(ts.server.services.config.apiAudience);
    // Migration 0009 adds the OpenID Connect standard scopes, which need no admin consent.
    expect(sample.scopes.map((s) => s.name)).toEqual([
      'contacts:read',
      'contacts:write',
      'profile:read',
      'openid',
      'profile',
      'email',
    ]);
    expect(sample.scopes.some((s) => s.admin_consent_required)).toBe(false);
    expect(management.identifier).toBe(`${ts.server.services.config.issuer}/api/management`);
    expect(management.scopes.every((s) => s.admin_consent_required)).toBe(true);
    expect(management.tenant_id).toBeNull();
    expect(sample.access_token_ttl).toBe(ts.server.services.config.accessTokenTtl);
  });

  it("hold an app's scopes as granted permissions, and follow the app's scopes field", async () => {
    const { app } = await createTestApp(ts, { scopes: ['contacts:read', 'clavis:apps'] });
    let perms = await listAppPermissions(ctx(), platform, app.id);
    expect(perms.map((p) => [p.api_id, p.scopes, p.status])).toEqual([
      [BUILT_IN_API_IDS.management, ['clavis:apps'], 'granted'],
      [BUILT_IN_API_IDS.sample, ['contacts:read'], 'granted'],
    ]);
    await updateApp(ctx(), platform, app.id, { scopes: ['profile:read'] });
    perms = await listAppPermissions(ctx(), platform, app.id);
    expect(perms.map((p) => [p.api_id, p.scopes])).toEqual([[BUILT_IN_API_IDS.sample, ['profile:read']]]);
  });

  it('are never deleted, and change only their resource servers', async () => {
    expect((await refusal(deleteApi(ctx(), platform, BUILT_IN_API_IDS.sample))).errorCode).toBe(
      'api_built_in',
    );
    expect(
      (await refusal(updateApi(ctx(), platform, BUILT_IN_API_IDS.sample, { name: 'Mine' }))).errorCode,
    ).toBe('api_built_in');
    expect(
      (await refusal(updateApi(ctx(), tenantAdmin, BUILT_IN_API_IDS.sample, { resource_server_app_ids: [] })))
        .errorCode,
    ).toBe('api_manage_forbidden');
  });

  it('through the permissions API keep the scopes rules: management scopes only by platform admins', async () => {
    const { app } = await createTestApp(ts, { scopes: ['contacts:read'] }, { tenantId });
    const e = await refusal(
      requestAppPermission(ctx(), tenantAdmin, app.id, BUILT_IN_API_IDS.management, ['clavis:apps']),
    );
    expect(e.code).toBe('validation');
    expect(e.fields.scopes).toMatch(/platform administrator/);
    const p = await requestAppPermission(ctx(), tenantAdmin, app.id, BUILT_IN_API_IDS.sample, [
      'contacts:read',
      'profile:read',
    ]);
    expect(p).toMatchObject({ status: 'granted', scopes: ['contacts:read', 'profile:read'] });
    const after = await getApp(app.id);
    expect(after.scopes).toEqual(['contacts:read', 'profile:read']);
    await removeAppPermission(ctx(), tenantAdmin, app.id, BUILT_IN_API_IDS.sample);
    expect((await getApp(app.id)).scopes).toEqual([]);
  });
});

async function getApp(id: string) {
  const { getAppForActor } = await import('../src/domain/apps.js');
  return getAppForActor(ctx(), platform, id);
}

describe('creating APIs', () => {
  it.each([
    ['not a URI', 'orders'],
    ['relative', '/orders'],
    ['http off loopback', 'http://api.example.com'],
    ['another scheme', 'ftp://api.example.com'],
    ['a fragment', 'https://api.example.com/#x'],
    ['a query', 'https://api.example.com/?v=1'],
    ['user info', 'https://me:pw@api.example.com/'],
    ['spaces', 'https://api.example.com/a b'],
  ])('refuses an identifier with %s (400, field identifier)', async (_what, identifier) => {
    const before = await countApis();
    const e = await refusal(createApi(ctx(), tenantAdmin, input({ identifier })));
    expect(e.errorCode).toBe('api_identifier_invalid');
    expect(e.fields.identifier).toBeTruthy();
    expect(await countApis()).toBe(before);
  });

  it('accepts http on loopback', async () => {
    const api = await createApi(ctx(), tenantAdmin, input({ identifier: `http://127.0.0.1:9/api${++seq}` }));
    expect(api.identifier).toMatch(/^http:\/\/127\.0\.0\.1:9\/api/);
  });

  it.each([
    [
      'a duplicate scope',
      [
        { name: 'a', description: '' },
        { name: 'a', description: '' },
      ],
      /twice/,
    ],
    ['a malformed scope name', [{ name: 'a b', description: '' }], /not a valid scope name/],
    ['a quote in a scope name', [{ name: 'a"b', description: '' }], /not a valid scope name/],
    ['an empty scope name', [{ name: '', description: '' }], /not a valid scope name/],
    ['a control character in a description', [{ name: 'a', description: 'x\u0007' }], /control/],
  ])('refuses %s (400, field scopes)', async (_what, scopes, message) => {
    const e = await refusal(createApi(ctx(), tenantAdmin, input({ scopes: scopes as ApiInput['scopes'] })));
    expect(e.errorCode).toBe('api_scope_invalid');
    expect(e.fields.scopes).toMatch(message);
  });

  it('refuses a TTL out of range and names every failed field at once', async () => {
    const e = await refusal(
      createApi(ctx(), tenantAdmin, input({ identifier: 'nope', name: '', access_token_ttl: 59 })),
    );
    expect(Object.keys(e.fields).sort()).toEqual(['access_token_ttl', 'identifier', 'name']);
    for (const ttl of [86401, 1.5]) {
      const t = await refusal(createApi(ctx(), tenantAdmin, input({ access_token_ttl: ttl })));
      expect(t.errorCode).toBe('api_ttl_invalid');
    }
  });

  it('keeps identifiers unique on the server, built-ins included (409)', async () => {
    const first = await createApi(ctx(), tenantAdmin, input());
    const e = await refusal(createApi(ctx(), otherAdmin, input({ identifier: first.identifier })));
    expect(e.errorCode).toBe('api_identifier_taken');
    expect(e.code).toBe('conflict');
    const b = await refusal(
      createApi(ctx(), tenantAdmin, input({ identifier: ts.server.services.config.apiAudience })),
    );
    expect(b.errorCode).toBe('api_identifier_taken');
    expect(
      (await refusal(updateApi(ctx(), tenantAdmin, first.id, { identifier: 'https://x.example' } as never)))
        .errorCode,
    ).toBe('api_identifier_immutable');
  });

  it('is for tenant admins; only a platform admin makes an API public', async () => {
    expect((await refusal(createApi(ctx(), developer, input()))).errorCode).toBe('api_manage_forbidden');
    expect((await refusal(createApi(ctx(), tenantAdmin, input({ visibility: 'public' })))).errorCode).toBe(
      'api_public_forbidden',
    );
    const api = await createApi(ctx(), platform, input({ visibility: 'public' }), { tenantId });
    expect(api).toMatchObject({ visibility: 'public', tenant_id: tenantId, allow_client_credentials: true });
  });

  it('records api.created with its identifier and scope names', async () => {
    const api = await createApi(ctx(), tenantAdmin, input());
    const events = (await auditTypes('api.created')).filter((e) => JSON.parse(e.data).api_id === api.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ tenant_id: tenantId, actor: tenantAdmin.id });
    expect(JSON.parse(events[0]!.data)).toMatchObject({
      identifier: api.identifier,
      scopes: ['orders:read', 'orders:write'],
    });
  });

  it('checks resource servers are apps of the tenant', async () => {
    const { app } = await createTestApp(ts, {}, { tenantId });
    const foreign = await createTestApp(ts);
    const ok = await createApi(ctx(), tenantAdmin, input({ resource_server_app_ids: [app.id] }));
    expect(ok.resource_server_app_ids).toEqual([app.id]);
    const e = await refusal(
      createApi(ctx(), tenantAdmin, input({ resource_server_app_ids: [foreign.app.id] })),
    );
    expect(e.errorCode).toBe('api_resource_server_invalid');
    expect(e.fields.resource_server_app_ids).toBeTruthy();
  });
});

describe('seeing APIs', () => {
  it("shows a tenant's API to its tenant, a public one to all, and hides the rest", async () => {
    const mine = await createApi(ctx(), tenantAdmin, input());
    const pub = await createApi(ctx(), platform, input({ visibility: 'public' }), { tenantId });
    const listed = (await listApis(ctx(), otherAdmin)).map((a) => a.id);
    expect(listed).toContain(pub.id);
    expect(listed).not.toContain(mine.id);
    expect((await refusal(getApi(ctx(), otherAdmin, mine.id))).errorCode).toBe('api_not_found');
    expect((await getApi(ctx(), developer, mine.id)).id).toBe(mine.id);
    expect((await refusal(updateApi(ctx(), developer, mine.id, { name: 'x' }))).errorCode).toBe(
      'api_manage_forbidden',
    );
  });
});

describe('app permissions', () => {
  it('are pending when a developer asks, granted with one admin action, and audited', async () => {
    const api = await createApi(ctx(), tenantAdmin, input());
    const { app } = await createTestApp(ts, {}, { tenantId });
    await ctx()
      .db.updateTable('apps')
      .set({ owner_user_id: developer.userId! })
      .where('id', '=', app.id)
      .execute();
    const asked = await requestAppPermission(ctx(), developer, app.id, api.id, [
      'orders:read',
      'orders:write',
    ]);
    expect(asked).toMatchObject({
      api_id: api.id,
      identifier: api.identifier,
      api_name: 'Orders API',
      scopes: ['orders:read', 'orders:write'],
      granted_scopes: [],
      status: 'pending',
      granted_at: null,
    });
    expect((await refusal(grantAppPermission(ctx(), developer, app.id, api.id))).errorCode).toBe(
      'app_permission_grant_forbidden',
    );
    const granted = await grantAppPermission(ctx(), tenantAdmin, app.id, api.id);
    expect(granted.status).toBe('granted');
    expect(granted.granted_at).toBeGreaterThan(0);
    // Widening again: the granted scope stays granted, the new one waits.
    await updateApi(ctx(), tenantAdmin, api.id, {
      scopes: [
        ...api.scopes,
        { name: 'orders:export', description: 'Export', admin_consent_required: false },
      ],
    });
    const wider = await requestAppPermission(ctx(), developer, app.id, api.id, [
      'orders:read',
      'orders:write',
      'orders:export',
    ]);
    expect(wider).toMatchObject({ status: 'pending', granted_scopes: ['orders:read', 'orders:write'] });
    const byAdmin = await requestAppPermission(ctx(), tenantAdmin, app.id, api.id, ['orders:read']);
    expect(byAdmin).toMatchObject({ status: 'granted', scopes: ['orders:read'] });
    const types = (
      await ctx()
        .db.selectFrom('audit_events')
        .select(['type', 'data'])
        .where('app_id', '=', app.id)
        .execute()
    )
      .map((e) => e.type)
      .filter((t) => t.startsWith('app_permission.'));
    expect(types).toEqual([
      'app_permission.requested',
      'app_permission.granted',
      'app_permission.requested',
      'app_permission.requested',
      'app_permission.granted',
    ]);
    await removeAppPermission(ctx(), developer, app.id, api.id);
    expect((await listAppPermissions(ctx(), developer, app.id)).map((p) => p.api_id)).not.toContain(api.id);
    expect((await auditTypes('app_permission.removed')).some((e) => e.app_id === app.id)).toBe(true);
  });

  it('refuse unknown scopes and APIs the app may not see (400 naming the field), writing nothing', async () => {
    const api = await createApi(ctx(), tenantAdmin, input());
    const hidden = await createApi(ctx(), otherAdmin, input());
    const { app } = await createTestApp(ts, {}, { tenantId });
    const e = await refusal(requestAppPermission(ctx(), tenantAdmin, app.id, api.id, ['orders:delete']));
    expect(e.errorCode).toBe('app_permission_scope_invalid');
    expect(e.fields.scopes).toMatch(/orders:delete/);
    const empty = await refusal(requestAppPermission(ctx(), tenantAdmin, app.id, api.id, []));
    expect(empty.fields.scopes).toBeTruthy();
    const h = await refusal(requestAppPermission(ctx(), tenantAdmin, app.id, hidden.id, ['orders:read']));
    expect(h.errorCode).toBe('app_permission_api_invalid');
    expect(h.fields.api_id).toBeTruthy();
    // A platform admin sees every API, but an app may use only its tenant's and public ones.
    const p = await refusal(requestAppPermission(ctx(), platform, app.id, hidden.id, ['orders:read']));
    expect(p.errorCode).toBe('app_permission_api_invalid');
    const rows = await ctx()
      .db.selectFrom('app_permissions')
      .selectAll()
      .where('app_id', '=', app.id)
      .execute();
    expect(rows.map((r) => r.api_id)).not.toContain(api.id);
  });

  it('of other tenants may use a public API', async () => {
    const pub = await createApi(ctx(), platform, input({ visibility: 'public' }), { tenantId });
    const other = await createTestApp(ts, {}, { tenantId: otherAdmin.tenantId! });
    const p = await requestAppPermission(ctx(), otherAdmin, other.app.id, pub.id, ['orders:read']);
    expect(p.status).toBe('granted');
  });
});

describe('changing and deleting APIs that apps use', () => {
  it('needs force to remove a scope apps hold, and then takes it from them', async () => {
    const api = await createApi(ctx(), tenantAdmin, input());
    const { app } = await createTestApp(ts, {}, { tenantId });
    await requestAppPermission(ctx(), tenantAdmin, app.id, api.id, ['orders:read', 'orders:write']);
    const only = [api.scopes[0]!];
    const e = await refusal(updateApi(ctx(), tenantAdmin, api.id, { scopes: only }));
    expect(e.errorCode).toBe('api_scope_in_use');
    expect((await getApi(ctx(), tenantAdmin, api.id)).scopes).toHaveLength(2);
    const changed = await updateApi(ctx(), tenantAdmin, api.id, { scopes: only }, { force: true });
    expect(changed.scopes.map((s) => s.name)).toEqual(['orders:read']);
    const perm = (await listAppPermissions(ctx(), tenantAdmin, app.id)).find((p) => p.api_id === api.id);
    expect(perm).toMatchObject({ scopes: ['orders:read'], status: 'granted' });
    const updated = (await auditTypes('api.updated')).find((ev) => JSON.parse(ev.data).api_id === api.id)!;
    expect(JSON.parse(updated.data)).toMatchObject({ fields: ['scopes'], removed_scopes: ['orders:write'] });
  });

  it('validates a patch before writing anything', async () => {
    const api = await createApi(ctx(), tenantAdmin, input());
    const e = await refusal(
      updateApi(ctx(), tenantAdmin, api.id, { name: 'New name', access_token_ttl: 5, description: 'ok' }),
    );
    expect(e.fields.access_token_ttl).toBeTruthy();
    expect((await getApi(ctx(), tenantAdmin, api.id)).name).toBe('Orders API');
    const ok = await updateApi(ctx(), tenantAdmin, api.id, {
      access_token_ttl: 600,
      allow_client_credentials: false,
    });
    expect(ok).toMatchObject({ access_token_ttl: 600, allow_client_credentials: false });
  });

  it('needs force to delete an API apps use, which removes their permissions', async () => {
    const api = await createApi(ctx(), tenantAdmin, input());
    const { app } = await createTestApp(ts, {}, { tenantId });
    await requestAppPermission(ctx(), tenantAdmin, app.id, api.id, ['orders:read']);
    expect((await refusal(deleteApi(ctx(), tenantAdmin, api.id))).errorCode).toBe('api_in_use');
    expect((await getApi(ctx(), tenantAdmin, api.id)).id).toBe(api.id);
    await deleteApi(ctx(), tenantAdmin, api.id, { force: true });
    expect((await refusal(getApi(ctx(), tenantAdmin, api.id))).errorCode).toBe('api_not_found');
    const rows = await ctx()
      .db.selectFrom('app_permissions')
      .selectAll()
      .where('api_id', '=', api.id)
      .execute();
    expect(rows).toEqual([]);
    expect((await auditTypes('api.deleted')).some((e) => JSON.parse(e.data).api_id === api.id)).toBe(true);
  });
});

describe('migration 0008', () => {
  it("turns existing apps' scopes into granted permissions on the built-in APIs", async () => {
    const db = await createTestDatabase();
    const handle = db.open();
    try {
      const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
      const r = await migrator.migrateTo('0007_app_pending_change');
      expect(r.error).toBeUndefined();
      const now = Date.now();
      await handle.db
        .insertInto('tenants')
        .values({
          id: 't1',
          name: 'T',
          kind: 'default',
          allow_app_registration: 1,
          secret_max_lifetime_days: 730,
          secret_allow_never_expire: 0,
          created_at: now,
          // The database stands at migration 0007: later tenant columns don't exist yet.
        } as never)
        .execute();
      const app = (id: string, scopes: string, deleted: number | null = null) => ({
        id,
        client_id: `c-${id}`,
        tenant_id: 't1',
        owner_user_id: null,
        name: id,
        description: '',
        visibility: 'private' as const,
        client_type: 'confidential' as const,
        callback_url: 'https://a.example/cb',
        scopes,
        default_scopes: scopes,
        status: 'draft' as const,
        review_note: null,
        pending_change: null,
        created_at: now,
        updated_at: now,
        deleted_at: deleted,
      });
      await handle.db
        .insertInto('apps')
        // The database stands at migration 0007: later app columns (grant_types) don't exist yet.
        .values([
          app('a1', 'contacts:read clavis:apps profile:read'),
          app('a2', ''),
          app('a3', 'contacts:read', now),
          // The database stands at migration 0007: the OIDC app columns (0009) don't exist yet.
        ] as never)
        .execute();
      await migrateToLatest(handle);
      const rows = await handle.db
        .selectFrom('app_permissions')
        .select(['app_id', 'api_id', 'scopes', 'granted_scopes'])
        .orderBy('app_id')
        .orderBy('api_id')
        .execute();
      expect(rows).toEqual([
        {
          app_id: 'a1',
          api_id: BUILT_IN_API_IDS.management,
          scopes: 'clavis:apps',
          granted_scopes: 'clavis:apps',
        },
        {
          app_id: 'a1',
          api_id: BUILT_IN_API_IDS.sample,
          scopes: 'contacts:read profile:read',
          granted_scopes: 'contacts:read profile:read',
        },
      ]);
    } finally {
      await handle.close();
      await db.drop();
    }
  });
});
