import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './helpers/api.js';
import { defaultTenantId, managementToken, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  ts = await startTestServer();
  admin = new ApiClient(ts, await managementToken(ts));
});
afterAll(async () => ts?.close());

async function auditCount(): Promise<number> {
  const rows = await ts.server.services.ctx.db
    .selectFrom('audit_events')
    .select('id')
    .where('type', '=', 'tenant.updated')
    .execute();
  return rows.length;
}

describe('PATCH /api/v1/tenant/settings with an empty body', () => {
  it('changes nothing and answers the current settings, without an audit event', async () => {
    const before = await admin.get('/v1/tenant/settings');
    expect(before.status).toBe(200);
    const events = await auditCount();
    const r = await admin.patch('/v1/tenant/settings', {});
    expect(r.status).toBe(200);
    expect(r.json).toEqual(before.json);
    expect(r.json.tenant_id).toBe(await defaultTenantId(ts));
    expect(await auditCount()).toBe(events);
  });

  it('still checks who asks and which tenant', async () => {
    const appsOnly = new ApiClient(ts, await managementToken(ts, 'clavis:apps'));
    expect((await appsOnly.patch('/v1/tenant/settings', {})).status).toBe(403);
    expect((await admin.patch('/v1/tenant/settings?tenant_id=no-such-tenant', {})).status).toBe(404);
  });

  it('still applies a real change', async () => {
    const r = await admin.patch('/v1/tenant/settings', { users_can_register_apps: false });
    expect(r.json.users_can_register_apps).toBe(false);
    await admin.patch('/v1/tenant/settings', { users_can_register_apps: true });
  });
});

describe('expiry_notice_recipients in /api/v1/tenant/settings', () => {
  it('is read and changed like the other settings, and the expiry scan uses it', async () => {
    const before = await admin.get('/v1/tenant/settings');
    expect(before.json.expiry_notice_recipients).toBe('owner_and_admins');
    for (const value of ['owner', 'admins', 'none', 'owner_and_admins']) {
      const r = await admin.patch('/v1/tenant/settings', { expiry_notice_recipients: value });
      expect(r.status, r.text).toBe(200);
      expect(r.json.expiry_notice_recipients).toBe(value);
      expect((await admin.get('/v1/tenant/settings')).json.expiry_notice_recipients).toBe(value);
      // Stored where the expiry scan reads it.
      const row = await ts.server.services.ctx.db
        .selectFrom('tenants')
        .select('expiry_notice_recipients')
        .where('id', '=', await defaultTenantId(ts))
        .executeTakeFirstOrThrow();
      expect(row.expiry_notice_recipients).toBe(value);
    }
  });

  it('a bad value is a 400 naming the field, and changes nothing', async () => {
    await admin.patch('/v1/tenant/settings', { expiry_notice_recipients: 'owner' });
    const events = await auditCount();
    for (const bad of ['everyone', '', 42, null, ['owner']]) {
      const r = await admin.patch('/v1/tenant/settings', { expiry_notice_recipients: bad });
      expect(r.status, r.text).toBe(400);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.text).toContain('expiry_notice_recipients');
    }
    expect((await admin.get('/v1/tenant/settings')).json.expiry_notice_recipients).toBe('owner');
    expect(await auditCount()).toBe(events);
    await admin.patch('/v1/tenant/settings', { expiry_notice_recipients: 'owner_and_admins' });
  });

  it('the OpenAPI document describes it in both the answer and the change', async () => {
    const doc = await (await fetch(`${ts.url}/api/openapi.json`)).json();
    const text = JSON.stringify(doc.paths['/api/v1/tenant/settings']);
    expect(text).toContain('expiry_notice_recipients');
    expect(JSON.stringify(doc).match(/"owner_and_admins"/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });
});
