import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_API_IDS, createApi, updateApi } from '../src/domain/apis.js';
import { requestAppPermission } from '../src/domain/app-permissions.js';
import { insertTenant } from '../src/domain/tenants.js';
import { introspect } from './helpers/flow.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

/*
 * RFC 7662 §2.1: the caller of the introspection endpoint is a protected resource. An access token is
 * reported active only to its own client and to the apps its API names as resource servers
 * (`resource_server_app_ids`); any other client, of any tenant, learns nothing but `{"active": false}`.
 */

let ts: TestServer;
type TestApp = Awaited<ReturnType<typeof createTestApp>>;
let owner: TestApp;
let sameTenant: TestApp;
let resourceServer: TestApp;
let otherTenant: TestApp;
let accessToken: string;

async function token(app: TestApp, extra: Record<string, string> = {}): Promise<string> {
  const r = await postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials', ...extra },
    { authorization: basicAuth(app.app.client_id, app.secret!) },
  );
  expect(r.status, r.text).toBe(200);
  return r.json.access_token;
}

beforeAll(async () => {
  ts = await startTestServer();
  const ctx = ts.server.services.ctx;
  const other = await insertTenant(ctx, ctx.db, { name: 'Other tenant', kind: 'sandbox' });
  owner = await createTestApp(ts, { name: 'Owner' });
  sameTenant = await createTestApp(ts, { name: 'Neighbour' });
  resourceServer = await createTestApp(ts, { name: 'Resource server' });
  otherTenant = await createTestApp(ts, { name: 'Stranger' }, { tenantId: other.id });
  expect(otherTenant.app.tenant_id).not.toBe(owner.app.tenant_id);
  await updateApi(ctx, await adminActor(ts), BUILT_IN_API_IDS.sample, {
    resource_server_app_ids: [resourceServer.app.id],
  });
  accessToken = await token(owner);
});
afterAll(async () => ts?.close());

describe('introspection: the token’s client and its API’s resource servers', () => {
  it('answers active to the token’s own client', async () => {
    const answer = await introspect(ts, owner.app.client_id, owner.secret!, accessToken);
    expect(answer).toMatchObject({ active: true, client_id: owner.app.client_id, tid: owner.app.tenant_id });
  });

  it('answers active to an app the API names as its resource server', async () => {
    const answer = await introspect(ts, resourceServer.app.client_id, resourceServer.secret!, accessToken);
    expect(answer).toMatchObject({ active: true, client_id: owner.app.client_id });
  });

  it('answers only {"active": false} to another app of the same tenant (no longer the tenant rule)', async () => {
    const answer = await introspect(ts, sameTenant.app.client_id, sameTenant.secret!, accessToken);
    expect(answer).toEqual({ active: false });
  });

  it('answers only {"active": false} to an app of another tenant', async () => {
    const answer = await introspect(ts, otherTenant.app.client_id, otherTenant.secret!, accessToken);
    expect(answer).toEqual({ active: false });
  });

  it('answers the other tenant’s app about its own tokens', async () => {
    const own = await token(otherTenant);
    expect((await introspect(ts, otherTenant.app.client_id, otherTenant.secret!, own)).active).toBe(true);
    expect(await introspect(ts, owner.app.client_id, owner.secret!, own)).toEqual({ active: false });
  });

  it("follows a custom API's own resource servers, and its lifetime", async () => {
    const ctx = ts.server.services.ctx;
    const admin = await adminActor(ts);
    const api = await createApi(ctx, admin, {
      identifier: 'https://introspection.example.com/api',
      name: 'Introspected',
      scopes: [{ name: 'things:read', description: 'Read things', admin_consent_required: false }],
      access_token_ttl: 120,
      resource_server_app_ids: [sameTenant.app.id],
    });
    await requestAppPermission(ctx, admin, owner.app.id, api.id, ['things:read']);
    const custom = await token(owner, { resource: api.identifier });
    expect(await introspect(ts, sameTenant.app.client_id, sameTenant.secret!, custom)).toMatchObject({
      active: true,
      aud: api.identifier,
      scope: 'things:read',
    });
    expect(await introspect(ts, resourceServer.app.client_id, resourceServer.secret!, custom)).toEqual({
      active: false,
    });
  });
});
