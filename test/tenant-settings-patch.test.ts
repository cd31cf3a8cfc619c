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
