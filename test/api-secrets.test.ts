import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, secretWorks } from './helpers/api.js';
import { managementToken, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let api: ApiClient;

beforeAll(async () => {
  ts = await startTestServer();
  api = new ApiClient(ts, await managementToken(ts));
});
afterAll(async () => ts?.close());

const DAY = 86_400_000;

async function newApp(): Promise<{ id: string; client_id: string; secret: { id: string; value: string } }> {
  const r = await api.post('/v1/apps', {
    name: 'Secret keeper',
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'https://keeper.acme.io/cb',
    scopes: ['contacts:read'],
  });
  expect(r.status).toBe(201);
  return r.json;
}

/** Fetches every read path that could leak a value, so `api.seen` holds their bodies. */
async function readEverything(appId: string) {
  await api.get(`/v1/apps/${appId}`);
  await api.get(`/v1/apps/${appId}/secrets`);
  await api.get('/v1/apps?limit=200');
  await api.get(`/v1/audit-events?app_id=${appId}&limit=200`);
  await api.get('/v1/audit-events?limit=200');
  await api.get('/openapi.json');
}

describe('client secrets', () => {
  it('a new secret: 201 with the value once; the list, app, audit never show it', async () => {
    const app = await newApp();
    const r = await api.post(`/v1/apps/${app.id}/secrets`, {
      description: 'CI runner',
      expires_in_months: 12,
    });
    expect(r.status).toBe(201);
    const s = r.json;
    expect(Object.keys(s).sort()).toEqual(
      [
        'created_at',
        'description',
        'expires_at',
        'hint',
        'id',
        'last_used_at',
        'replaced_by',
        'revoked_at',
        'status',
        'value',
      ].sort(),
    );
    expect(s).toMatchObject({
      description: 'CI runner',
      hint: s.value.slice(0, 3),
      revoked_at: null,
      last_used_at: null,
    });
    const months = (Date.parse(s.expires_at) - Date.parse(s.created_at)) / DAY;
    expect(months).toBeGreaterThan(360);
    expect(months).toBeLessThan(370);
    expect(await secretWorks(ts, app.client_id, s.value)).toBe(true);

    await readEverything(app.id);
    const list = await api.get(`/v1/apps/${app.id}/secrets`);
    expect(list.json.items.map((x: { id: string }) => x.id)).toEqual([s.id, app.secret.id]);
    for (const item of list.json.items) expect(item).not.toHaveProperty('value');
    expect(api.count(s.value)).toBe(1);
    expect(api.count(app.secret.value)).toBe(1);
    const audit = await api.get(`/v1/audit-events?app_id=${app.id}&type=secret.created`);
    expect(audit.json.items.map((e: { secret_id: string }) => e.secret_id).sort()).toEqual(
      [s.id, app.secret.id].sort(),
    );
  });

  it('refresh: the old secret is refused at /oauth/token at once, the new one works, value shown once', async () => {
    const app = await newApp();
    const old = app.secret;
    expect(await secretWorks(ts, app.client_id, old.value)).toBe(true);
    const r = await api.post(`/v1/apps/${app.id}/secrets/${old.id}/refresh`);
    expect(r.status).toBe(201);
    const fresh = r.json;
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.value).not.toBe(old.value);
    expect(await secretWorks(ts, app.client_id, old.value)).toBe(false);
    expect(await secretWorks(ts, app.client_id, fresh.value)).toBe(true);
    const list = await api.get(`/v1/apps/${app.id}/secrets`);
    const byId = Object.fromEntries(list.json.items.map((x: { id: string }) => [x.id, x]));
    expect(byId[old.id].revoked_at).not.toBeNull();
    expect(byId[fresh.id].revoked_at).toBeNull();
    await readEverything(app.id);
    expect(api.count(fresh.value)).toBe(1);
    const audit = await api.get(`/v1/audit-events?app_id=${app.id}&type=secret.refreshed`);
    expect(audit.json.items).toHaveLength(1);
    expect(audit.json.items[0]).toMatchObject({
      secret_id: fresh.id,
      actor: `client:${ts.bootstrapClient.id}`,
    });
    // Refreshing a revoked secret conflicts; an unknown one is 404.
    const again = await api.post(`/v1/apps/${app.id}/secrets/${old.id}/refresh`);
    expect(again.status).toBe(409);
    expect(
      (await api.post(`/v1/apps/${app.id}/secrets/00000000-0000-4000-8000-000000000000/refresh`)).status,
    ).toBe(404);
  });

  it('revoke: DELETE deactivates one secret, without a value in the answer', async () => {
    const app = await newApp();
    const second = (await api.post(`/v1/apps/${app.id}/secrets`, {})).json;
    const r = await api.delete(`/v1/apps/${app.id}/secrets/${app.secret.id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: app.secret.id });
    expect(r.json.revoked_at).not.toBeNull();
    expect(r.json).not.toHaveProperty('value');
    expect(await secretWorks(ts, app.client_id, app.secret.value)).toBe(false);
    expect(await secretWorks(ts, app.client_id, second.value)).toBe(true);
    expect((await api.delete(`/v1/apps/${app.id}/secrets/nope`)).status).toBe(404);
    const audit = await api.get(`/v1/audit-events?app_id=${app.id}&type=secret.revoked`);
    expect(audit.json.items.map((e: { secret_id: string }) => e.secret_id)).toEqual([app.secret.id]);
  });

  it('status: one word per state, the same the hub shows (active, replaced by a refresh, revoked)', async () => {
    const app = await newApp();
    const second = (await api.post(`/v1/apps/${app.id}/secrets`, {})).json;
    expect(second).toMatchObject({ status: 'active', replaced_by: null });
    const fresh = (await api.post(`/v1/apps/${app.id}/secrets/${app.secret.id}/refresh`, {})).json;
    expect((await api.delete(`/v1/apps/${app.id}/secrets/${second.id}`)).json).toMatchObject({
      status: 'revoked',
      replaced_by: null,
    });
    const byId = new Map(
      (await api.get(`/v1/apps/${app.id}/secrets`)).json.items.map((s: { id: string }) => [s.id, s]),
    );
    expect(byId.get(app.secret.id)).toMatchObject({ status: 'replaced', replaced_by: fresh.id });
    expect(byId.get(second.id)).toMatchObject({ status: 'revoked', replaced_by: null });
    expect(byId.get(fresh.id)).toMatchObject({ status: 'active', replaced_by: null });
  });

  it('at most 5 active secrets: the 6th is a 409 problem', async () => {
    const app = await newApp();
    for (let i = 0; i < 4; i++) expect((await api.post(`/v1/apps/${app.id}/secrets`)).status).toBe(201);
    const sixth = await api.post(`/v1/apps/${app.id}/secrets`);
    expect(sixth.status).toBe(409);
    expect(sixth.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(sixth.json.detail).toMatch(/5/);
    await api.delete(`/v1/apps/${app.id}/secrets/${app.secret.id}`);
    expect((await api.post(`/v1/apps/${app.id}/secrets`)).status).toBe(201);
  });

  it("expiry follows the tenant's policy", async () => {
    const app = await newApp();
    const never = await api.post(`/v1/apps/${app.id}/secrets`, { never_expires: true });
    expect(never.status).toBe(422);
    expect(never.json.errors).toHaveProperty('expires_at');
    const tooLong = await api.post(`/v1/apps/${app.id}/secrets`, {
      expires_at: new Date(Date.now() + 800 * DAY).toISOString(),
    });
    expect(tooLong.status).toBe(422);
    const past = await api.post(`/v1/apps/${app.id}/secrets`, { expires_at: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect((await api.post(`/v1/apps/${app.id}/secrets`, { expires_at: 'next tuesday' })).status).toBe(400);
    // A date that does not exist is refused, not rolled over into the next month (2027-03-02).
    const feb30 = await api.post(`/v1/apps/${app.id}/secrets`, {
      expires_at: `${new Date().getUTCFullYear() + 1}-02-30T00:00:00Z`,
    });
    expect(feb30.status, feb30.text).toBe(400);
    expect(JSON.stringify(feb30.json)).toMatch(/expires_at/);
    expect((await api.post(`/v1/apps/${app.id}/secrets`, { expires_in_months: 'six' })).status).toBe(400);
    expect(
      (await api.post(`/v1/apps/${app.id}/secrets`, { expires_in_months: 6, never_expires: true })).status,
    ).toBe(422);
    const at = new Date(Date.now() + 30 * DAY).toISOString();
    const custom = await api.post(`/v1/apps/${app.id}/secrets`, { expires_at: at });
    expect(custom.status).toBe(201);
    expect(custom.json.expires_at).toBe(at);
    const defaults = await api.post(`/v1/apps/${app.id}/secrets`, {});
    const days = (Date.parse(defaults.json.expires_at) - Date.now()) / DAY;
    expect(days).toBeGreaterThan(179);
    expect(days).toBeLessThan(186);

    const settings = await api.patch('/v1/tenant/settings', {
      secret_allow_never_expire: true,
      secret_max_lifetime_days: 30,
    });
    expect(settings.status).toBe(200);
    const allowed = await api.post(`/v1/apps/${app.id}/secrets/${defaults.json.id}/refresh`, {
      never_expires: true,
    });
    expect(allowed.status).toBe(201);
    expect(allowed.json.expires_at).toBeNull();
    const overMax = await api.post(`/v1/apps/${app.id}/secrets`, { expires_in_months: 6 });
    expect(overMax.status).toBe(422);
    await api.patch('/v1/tenant/settings', {
      secret_allow_never_expire: false,
      secret_max_lifetime_days: 730,
    });
  });

  it('public clients have no secrets', async () => {
    const r = await api.post('/v1/apps', {
      name: 'SPA',
      visibility: 'private',
      client_type: 'public',
      callback_url: 'https://spa.acme.io/cb',
    });
    expect((await api.post(`/v1/apps/${r.json.id}/secrets`)).status).toBe(422);
  });
});

describe('Idempotency-Key', () => {
  it('creating a secret twice with one key returns the first result and creates nothing new', async () => {
    const app = await newApp();
    const key = { 'idempotency-key': `k-${Date.now()}` };
    const first = await api.post(`/v1/apps/${app.id}/secrets`, { description: 'deploy' }, { headers: key });
    const again = await api.post(`/v1/apps/${app.id}/secrets`, { description: 'deploy' }, { headers: key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const list = await api.get(`/v1/apps/${app.id}/secrets`);
    expect(list.json.items).toHaveLength(2); // the app's first secret and this one
    // Same key, other body: 422. Other key: a new secret.
    const clash = await api.post(`/v1/apps/${app.id}/secrets`, { description: 'other' }, { headers: key });
    expect(clash.status).toBe(422);
    expect(clash.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const other = await api.post(
      `/v1/apps/${app.id}/secrets`,
      { description: 'deploy' },
      { headers: { 'idempotency-key': 'k-other' } },
    );
    expect(other.json.id).not.toBe(first.json.id);
    // The same key on another app is another scope.
    const app2 = await newApp();
    const elsewhere = await api.post(
      `/v1/apps/${app2.id}/secrets`,
      { description: 'deploy' },
      { headers: key },
    );
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.json.id).not.toBe(first.json.id);
  });

  it('concurrent requests with one key create one secret (the loser replays or is told to retry)', async () => {
    const app = await newApp();
    const key = { 'idempotency-key': `race-${Date.now()}` };
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        api.post(`/v1/apps/${app.id}/secrets`, { description: 'race' }, { headers: key }),
      ),
    );
    for (const r of results) expect([201, 409]).toContain(r.status);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.json.id));
    expect(ids.size).toBe(1);
    const list = await api.get(`/v1/apps/${app.id}/secrets`);
    expect(list.json.items).toHaveLength(2);
  });

  it('the stored response is sealed: the database never holds the secret value', async () => {
    const app = await newApp();
    const key = { 'idempotency-key': `sealed-${Date.now()}` };
    const first = await api.post(`/v1/apps/${app.id}/secrets`, {}, { headers: key });
    const rows = await ts.server.services.ctx.db.selectFrom('idempotency_keys').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.body).not.toContain(first.json.value);
  });

  it('app creation and refresh are idempotent too', async () => {
    const body = {
      name: `Idem ${Date.now()}`,
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://idem.acme.io/cb',
    };
    const key = { 'idempotency-key': `app-${Date.now()}` };
    const a = await api.post('/v1/apps', body, { headers: key });
    const b = await api.post('/v1/apps', body, { headers: key });
    expect(b.json.id).toBe(a.json.id);
    expect(b.json.secret.value).toBe(a.json.secret.value);
    const named = await api.get(`/v1/apps?q=${encodeURIComponent(body.name)}`);
    expect(named.json.items).toHaveLength(1);
    expect((await api.post('/v1/apps', { ...body, name: 'Changed' }, { headers: key })).status).toBe(422);

    const rk = { 'idempotency-key': `refresh-${Date.now()}` };
    const r1 = await api.post(`/v1/apps/${a.json.id}/secrets/${a.json.secret.id}/refresh`, undefined, {
      headers: rk,
    });
    const r2 = await api.post(`/v1/apps/${a.json.id}/secrets/${a.json.secret.id}/refresh`, undefined, {
      headers: rk,
    });
    expect(r1.status).toBe(201);
    expect(r2.json).toEqual(r1.json);
    const secrets = await api.get(`/v1/apps/${a.json.id}/secrets`);
    expect(
      secrets.json.items.filter((s: { revoked_at: string | null }) => s.revoked_at === null),
    ).toHaveLength(1);
    expect(await secretWorks(ts, a.json.client_id, r1.json.value)).toBe(true);
  });

  it('a failed create frees the key; a bad key is a 400; another actor has its own key space', async () => {
    const app = await newApp();
    const key = { 'idempotency-key': `fail-${Date.now()}` };
    const bad = await api.post(`/v1/apps/${app.id}/secrets`, { never_expires: true }, { headers: key });
    expect(bad.status).toBe(422);
    expect((await api.post(`/v1/apps/${app.id}/secrets`, {}, { headers: key })).status).toBe(201);
    expect(
      (await api.post(`/v1/apps/${app.id}/secrets`, {}, { headers: { 'idempotency-key': 'x'.repeat(300) } }))
        .status,
    ).toBe(400);
    const otherActor = new ApiClient(ts, await managementToken(ts, 'clavis:apps'));
    const theirs = await otherActor.post(`/v1/apps/${app.id}/secrets`, {}, { headers: key });
    expect(theirs.status).toBe(201);
  });

  it('entries are purged after 24 hours by the maintenance purge step', async () => {
    const { purgeExpired } = await import('../src/maintenance.js');
    const db = ts.server.services.ctx.db;
    await db
      .insertInto('idempotency_keys')
      .values({
        key: 'old',
        scope: 'x',
        status_code: 201,
        body: '{}',
        created_at: Date.now() - 25 * 3_600_000,
      })
      .execute();
    await purgeExpired(ts.server.services);
    expect(
      await db.selectFrom('idempotency_keys').selectAll().where('key', '=', 'old').executeTakeFirst(),
    ).toBeUndefined();
  });
});
