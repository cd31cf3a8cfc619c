import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant } from '../src/domain/tenants.js';
import { introspect } from './helpers/flow.js';
import { basicAuth, createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';

/*
 * RFC 7662 §2.2: an access token is reported active only to its own client and to apps of its tenant; a
 * confidential client of another tenant learns nothing but `{"active": false}`.
 */

let ts: TestServer;
type TestApp = Awaited<ReturnType<typeof createTestApp>>;
let owner: TestApp;
let sameTenant: TestApp;
let otherTenant: TestApp;
let accessToken: string;

beforeAll(async () => {
  ts = await startTestServer();
  const ctx = ts.server.services.ctx;
  const other = await insertTenant(ctx, ctx.db, { name: 'Other tenant', kind: 'sandbox' });
  owner = await createTestApp(ts, { name: 'Owner' });
  sameTenant = await createTestApp(ts, { name: 'Resource server' });
  otherTenant = await createTestApp(ts, { name: 'Stranger' }, { tenantId: other.id });
  expect(otherTenant.app.tenant_id).not.toBe(owner.app.tenant_id);
  const r = await postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuth(owner.app.client_id, owner.secret!) },
  );
  expect(r.status).toBe(200);
  accessToken = r.json.access_token;
});
afterAll(async () => ts?.close());

describe('introspection across tenants', () => {
  it('answers active to the token’s own client', async () => {
    const answer = await introspect(ts, owner.app.client_id, owner.secret!, accessToken);
    expect(answer).toMatchObject({ active: true, client_id: owner.app.client_id, tid: owner.app.tenant_id });
  });

  it('answers active to another app of the same tenant', async () => {
    const answer = await introspect(ts, sameTenant.app.client_id, sameTenant.secret!, accessToken);
    expect(answer).toMatchObject({ active: true, client_id: owner.app.client_id });
  });

  it('answers only {"active": false} to an app of another tenant', async () => {
    const answer = await introspect(ts, otherTenant.app.client_id, otherTenant.secret!, accessToken);
    expect(answer).toEqual({ active: false });
  });

  it('answers the other tenant’s app about its own tokens', async () => {
    const r = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(otherTenant.app.client_id, otherTenant.secret!) },
    );
    expect(r.status).toBe(200);
    const own = await introspect(ts, otherTenant.app.client_id, otherTenant.secret!, r.json.access_token);
    expect(own.active).toBe(true);
    expect(await introspect(ts, owner.app.client_id, owner.secret!, r.json.access_token)).toEqual({
      active: false,
    });
  });
});
