import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../src/domain/events.js';
import { attemptDelivery } from '../src/domain/webhook-delivery.js';
import { WEBHOOK_EVENT_NAMES } from '../src/domain/webhook-events.js';
import { MAX_SOCKETS_PER_URL } from '../src/domain/webhook-http.js';
import { ApiClient, otherTenant } from './helpers/api.js';
import { Browser } from './helpers/browser.js';
import { defaultTenantId, managementToken, startTestServer, type TestServer } from './helpers/server.js';
import { startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { waitFor } from './helpers/wait.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * Signed webhooks end to end on a real server (SQLite or PostgreSQL per CLAVIS_TEST_DB) and a real HTTP
 * receiver that verifies every delivery with the `standardwebhooks` npm package.
 */
let ts: TestServer; // CLAVIS_WEBHOOKS_ALLOW_PRIVATE=true: delivers to the loopback receiver
let strict: TestServer; // the default: https and public addresses only
let api: ApiClient;
let strictApi: ApiClient;
let receiver: WebhookReceiver;
let smtp: TestSmtp;
/** Added to the real clock of `ts`, to make retries due and deadlines pass. */
let skew = 0;

beforeAll(async () => {
  receiver = await new WebhookReceiver().start();
  smtp = await startTestSmtp();
  ts = await startTestServer({
    env: {
      CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true',
      CLAVIS_OUTBOX_POLL_MS: '50',
      CLAVIS_SMTP_URL: smtp.url,
      CLAVIS_MAIL_FROM: 'Clavis <clavis@clavis.test>',
    },
    now: () => Date.now() + skew,
  });
  strict = await startTestServer({ env: { CLAVIS_OUTBOX_POLL_MS: '50' } });
  api = new ApiClient(ts, await managementToken(ts));
  strictApi = new ApiClient(strict, await managementToken(strict));
});
afterAll(async () => {
  await ts?.close();
  await strict?.close();
  await receiver?.close();
  await smtp?.close();
});

async function newEndpoint(path: string, events: string[] = ['*'], client = api) {
  const r = await client.post('/v1/webhooks', { url: `${receiver.url}${path}`, events, description: path });
  expect(r.status, r.text).toBe(201);
  receiver.secrets.push(r.json.secret);
  return r.json as { id: string; secret: string; url: string };
}

async function newApp(client = api, name = 'Hooked app') {
  const r = await client.post('/v1/apps', {
    name,
    visibility: 'private',
    client_type: 'confidential',
    callback_url: 'https://hooked.example.com/cb',
    scopes: ['contacts:read'],
  });
  expect(r.status, r.text).toBe(201);
  return r.json as {
    id: string;
    client_id: string;
    name: string;
    secret: { id: string; value: string; hint: string };
  };
}

/** The deliveries to `path` about the app `appId` (verified or not: see `advance`). */
const about = (url: string, appId: string) =>
  receiver.received.filter((r) => r.url === url && JSON.parse(r.body).data?.app?.id === appId);

/**
 * Moves the server's clock forward (retries fall due, deadlines pass) and gets a token valid in its time.
 * Signature timestamps follow the server clock, so from then on receivers (5 minutes' tolerance) would
 * refuse them: tests that check verification run before any large move.
 */
async function advance(ms: number): Promise<void> {
  skew += ms;
  api.token = await managementToken(ts);
}

describe('endpoints API', () => {
  it('POST answers 201 with a whsec_ secret shown once; GET, list and PATCH never show it', async () => {
    const r = await api.post('/v1/webhooks', {
      url: `${receiver.url}/ok`,
      events: ['app.created', 'secret.revoked'],
      description: 'CRM sync',
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/api/v1/webhooks/${r.json.id}`);
    expect(r.json).toMatchObject({
      url: `${receiver.url}/ok`,
      events: ['app.created', 'secret.revoked'],
      description: 'CRM sync',
      enabled: true,
      failing_since: null,
    });
    expect(r.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = r.json.id;
    expect((await api.get(`/v1/webhooks/${id}`)).json).not.toHaveProperty('secret');
    const list = await api.get('/v1/webhooks');
    expect(list.json.items.map((e: { id: string }) => e.id)).toContain(id);
    const p = await api.patch(`/v1/webhooks/${id}`, { events: ['*'], description: 'All of it' });
    expect(p.status).toBe(200);
    expect(p.json).toMatchObject({ events: ['*'], description: 'All of it' });
    expect(api.count(r.json.secret)).toBe(1);
    // The secret is sealed at rest, not stored as typed.
    const row = await ts.server.services.ctx.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(r.json.secret.slice(6, 30));
    expect((await api.delete(`/v1/webhooks/${id}`)).status).toBe(204);
    expect((await api.get(`/v1/webhooks/${id}`)).status).toBe(404);
  });

  it('bad input: 400 problem+json naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ url: 'http://example.com/hook' }, 'url', 'webhook_url_invalid'],
      [{ url: 'https://127.0.0.1/hook' }, 'url', 'webhook_url_invalid'],
      [{ url: 'https://10.0.0.7/hook' }, 'url', 'webhook_url_invalid'],
      [{ url: 'https://[::1]/hook' }, 'url', 'webhook_url_invalid'],
      [{ url: 'https://169.254.169.254/latest/meta-data' }, 'url', 'webhook_url_invalid'],
      [{ url: 'https://localhost/hook' }, 'url', 'webhook_url_invalid'],
      [{ url: 'not a url' }, 'url', 'webhook_url_invalid'],
      [
        { url: 'https://example.com/h', events: ['app.created', 'app.exploded'] },
        'events',
        'webhook_events_invalid',
      ],
      [{ url: 'https://example.com/h', events: [] }, 'events', 'webhook_events_invalid'],
      [{ url: 'https://example.com/h', events: ['*', 'app.created'] }, 'events', 'webhook_events_invalid'],
      [
        { url: 'https://example.com/h', description: 'x'.repeat(501) },
        'description',
        'webhook_description_invalid',
      ],
    ];
    for (const [body, field, code] of cases) {
      const r = await strictApi.post('/v1/webhooks', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.json.code).toBe(code);
      expect(Object.keys(r.json.errors)).toContain(field);
    }
    // Every bad field at once.
    const all = await strictApi.post('/v1/webhooks', {
      url: 'http://example.com',
      events: ['nope'],
      description: 'y'.repeat(600),
    });
    expect(Object.keys(all.json.errors).sort()).toEqual(['description', 'events', 'url']);
    expect(all.json.errors.events).toContain('nope');
    // Schema-level: unknown fields and wrong types are 400s too.
    expect(
      (await strictApi.post('/v1/webhooks', { url: 'https://example.com', secret: 'mine' })).status,
    ).toBe(400);
    // PATCH checks the same way; nothing is half-written.
    const ok = await strictApi.post('/v1/webhooks', { url: 'https://example.com/h' });
    expect(ok.status).toBe(201);
    const bad = await strictApi.patch(`/v1/webhooks/${ok.json.id}`, {
      url: 'https://192.168.1.1/',
      description: 'new',
    });
    expect(bad.status).toBe(400);
    expect((await strictApi.get(`/v1/webhooks/${ok.json.id}`)).json).toMatchObject({
      url: 'https://example.com/h',
      description: '',
    });
    // http is refused without the flag, and accepted with it (development).
    expect((await api.post('/v1/webhooks', { url: 'http://127.0.0.1:9/x' })).status).toBe(201);
  });

  it('tenant admins only; other tenants see nothing', async () => {
    const other = await otherTenant(ts);
    const mine = await newEndpoint('/ok?tenant-test', ['app.deleted']);
    const theirs = new ApiClient(ts, other.token);
    // A management client with clavis:apps only is no admin.
    expect((await theirs.get('/v1/webhooks')).status).toBe(403);
    expect((await theirs.get(`/v1/webhooks/${mine.id}`)).status).toBe(403);
  });
});

describe('audit', () => {
  it('create, change, pause, rotate and delete are audited (never the signing secret), and the hub shows them', async () => {
    const ep = await newEndpoint('/ok?audited', ['app.created']);
    expect(
      (await api.patch(`/v1/webhooks/${ep.id}`, { events: ['app.created', 'app.deleted'], enabled: false }))
        .status,
    ).toBe(200);
    // A PATCH that changes nothing records nothing.
    expect((await api.patch(`/v1/webhooks/${ep.id}`, { description: '/ok?audited' })).status).toBe(200);
    const rotated = await api.post(`/v1/webhooks/${ep.id}/secret/rotate`, { overlap_hours: 2 });
    expect(rotated.status, rotated.text).toBe(200);
    expect((await api.delete(`/v1/webhooks/${ep.id}`)).status).toBe(204);

    const events = (await api.get('/v1/audit-events?limit=100')).json.items.filter(
      (e: { data: { endpoint_id?: string } }) => e.data.endpoint_id === ep.id,
    );
    expect(events.map((e: { type: string }) => e.type).reverse()).toEqual([
      'webhook.created',
      'webhook.updated',
      'webhook.secret_rotated',
      'webhook.deleted',
    ]);
    const [deleted, rotation, updated, created] = events;
    const actor = created.actor;
    expect(actor).toMatch(/^(user|client):/);
    expect(created).toMatchObject({
      tenant_id: expect.any(String),
      data: { url: ep.url, events: ['app.created'], description: '/ok?audited' },
    });
    expect(updated).toMatchObject({
      actor,
      data: { fields: ['events', 'enabled'], events: ['app.created', 'app.deleted'], enabled: false },
    });
    expect(rotation.data).toMatchObject({ overlap_hours: 2, previous_secret_until: expect.any(String) });
    expect(deleted.data).toMatchObject({ url: ep.url });
    const stored = JSON.stringify(
      await ts.server.services.ctx.db
        .selectFrom('audit_events')
        .selectAll()
        .where('type', 'like', 'webhook.%')
        .execute(),
    );
    expect(stored).not.toContain('whsec_');
    expect(stored).not.toContain(ep.secret.slice(6, 20));
    expect(stored).not.toContain(rotated.json.secret.slice(6, 20));

    const b = new Browser(ts.url);
    await b.submit(await b.get('/login'), '/login', ts.admin);
    const html = (await b.get('/admin/webhooks')).html;
    expect(html).toContain('Recent changes');
    for (const words of ['Endpoint added', 'Endpoint changed', 'Signing secret rotated', 'Endpoint deleted'])
      expect(html).toContain(words);
    expect(html).toContain('changed events, enabled; paused');
    expect(html).not.toContain('whsec_');
  });
});

describe('delivery', () => {
  it('app and secret events arrive signed (standardwebhooks verifies), with names and no secret value', async () => {
    await newEndpoint('/ok');
    const app = await newApp();
    const added = await api.post(`/v1/apps/${app.id}/secrets`, { description: 'second' });
    expect(added.status).toBe(201);
    const refreshed = await api.post(`/v1/apps/${app.id}/secrets/${app.secret.id}/refresh`);
    expect(refreshed.status).toBe(201);
    expect((await api.delete(`/v1/apps/${app.id}/secrets/${added.json.id}`)).status).toBeLessThan(300);
    expect((await api.patch(`/v1/apps/${app.id}`, { name: 'Hooked app 2' })).status).toBe(200);
    expect((await api.post(`/v1/apps/${app.id}/disable`)).status).toBe(200);
    expect((await api.delete(`/v1/apps/${app.id}`)).status).toBe(204);

    const want = [
      'app.created',
      'secret.created',
      'secret.created',
      'secret.refreshed',
      'secret.revoked',
      'app.updated',
      'app.disabled',
      'app.deleted',
    ];
    const got = await waitFor(
      () => {
        const list = about('/ok', app.id);
        return list.length >= want.length && list;
      },
      { what: 'all events of the app' },
    );
    expect(got.map((r) => r.verified?.type).sort()).toEqual([...want].sort());
    for (const r of got) {
      expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(Number(r.headers['webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(r.headers['content-type']).toBe('application/json');
      expect(Object.keys(JSON.parse(r.body))).toEqual(['type', 'timestamp', 'data']);
      expect(r.verified?.data.app).toMatchObject({ id: app.id, client_id: app.client_id });
      expect(r.verified?.data.actor).toMatch(/^client:/);
      for (const value of [app.secret.value, added.json.value, refreshed.json.value])
        expect(r.body).not.toContain(value);
    }
    const created = got.find(
      (r) => r.verified?.type === 'secret.created' && r.verified.data.secret.id === added.json.id,
    );
    expect(created?.verified?.data.secret).toEqual({
      id: added.json.id,
      hint: added.json.hint,
      expires_at: added.json.expires_at,
    });
    const refresh = got.find((r) => r.verified?.type === 'secret.refreshed');
    expect(refresh?.verified?.data.replaces).toEqual(expect.arrayContaining([app.secret.id]));
    expect(got.find((r) => r.verified?.type === 'app.updated')?.verified?.data.app.name).toBe('Hooked app 2');
  });

  it('an endpoint gets only the events it chose; the delivery log shows status, duration and response code', async () => {
    const ep = await newEndpoint('/only-revoked', ['secret.revoked']);
    const app = await newApp();
    await api.delete(`/v1/apps/${app.id}/secrets/${app.secret.id}`);
    await waitFor(() => about('/only-revoked', app.id).length === 1, { what: 'secret.revoked' });
    await new Promise((r) => setTimeout(r, 300));
    expect(about('/only-revoked', app.id).map((r) => r.verified?.type)).toEqual(['secret.revoked']);
    const log = await waitFor(async () => {
      const r = await api.get(`/v1/webhooks/${ep.id}/deliveries`);
      return r.json.items[0]?.status === 'succeeded' && r.json;
    });
    expect(log.items).toHaveLength(1);
    const d = log.items[0];
    expect(d).toMatchObject({
      event_type: 'secret.revoked',
      status: 'succeeded',
      attempt_count: 1,
      last_status_code: 200,
    });
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ ok: true, status_code: 200, error: null });
    expect(d.attempts[0].duration_ms).toBeGreaterThanOrEqual(0);
    expect(d.id).toBe(about('/only-revoked', app.id)[0]?.headers['webhook-id']);
  });

  it('rotation with overlap: both signatures, each verifies; after the overlap only the new one', async () => {
    const ep = await newEndpoint('/rotated', ['app.created']);
    const oldSecret = ep.secret;
    const rot = await api.post(`/v1/webhooks/${ep.id}/secret/rotate`, { overlap_hours: 2 });
    expect(rot.status).toBe(200);
    expect(rot.json.secret).toMatch(/^whsec_/);
    expect(rot.json.secret).not.toBe(oldSecret);
    expect(Date.parse(rot.json.previous_secret_expires_at) - (Date.now() + skew)).toBeGreaterThan(7_100_000);
    receiver.secrets.push(rot.json.secret);
    const a = await newApp(api, 'During overlap');
    const r1 = await waitFor(() => about('/rotated', a.id)[0]);
    expect(r1.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(r1.verifiedBy).toEqual(expect.arrayContaining([oldSecret, rot.json.secret]));
    await advance(2 * 3600_000 + 1000);
    // Signature timestamps follow the server clock, which the test moved: verify on the header alone.
    const b = await newApp(api, 'After overlap');
    const r2 = await waitFor(() => about('/rotated', b.id)[0]);
    expect(r2.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect((await api.get(`/v1/webhooks/${ep.id}`)).json.previous_secret_expires_at).toBeNull();
    expect((await api.post(`/v1/webhooks/${ep.id}/secret/rotate`, { overlap_hours: 169 })).status).toBe(400);
    await api.delete(`/v1/webhooks/${ep.id}`);
  });

  it('a redirect is a failed attempt and is not followed', async () => {
    const ep = await newEndpoint('/redirect', ['app.created']);
    await newApp(api, 'Redirected');
    const d = await waitFor(
      async () => (await api.get(`/v1/webhooks/${ep.id}/deliveries`)).json.items[0]?.attempts[0],
    );
    expect(d).toMatchObject({
      ok: false,
      status_code: 302,
      error: 'Answered 302 (redirects are not followed).',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received.filter((r) => r.path === '/redirect-target')).toHaveLength(0);
    await api.delete(`/v1/webhooks/${ep.id}`);
  });

  it('a receiver that hangs is cut off after 10 s and recorded as such', { timeout: 30_000 }, async () => {
    const ep = await newEndpoint('/hang', ['app.created']);
    await newApp(api, 'Hung');
    const attempt = await waitFor(
      async () => (await api.get(`/v1/webhooks/${ep.id}/deliveries`)).json.items[0]?.attempts[0],
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(attempt).toMatchObject({ ok: false, status_code: null, error: 'No answer within 10 s.' });
    expect(attempt.duration_ms).toBeGreaterThanOrEqual(9_900);
    expect(attempt.duration_ms).toBeLessThan(12_000);
    await api.delete(`/v1/webhooks/${ep.id}`);
  });

  it('a receiver that hangs holds at most 16 connections and never holds up other endpoints', {
    timeout: 40_000,
  }, async () => {
    const hung = await newEndpoint('/hang?many', ['app.updated']);
    const ok = await newEndpoint('/ok?beside-hung', ['app.updated']);
    const ctx = ts.server.services.ctx;
    const tenant_id = await defaultTenantId(ts);
    const n = 40;
    const started = Date.now();
    await ctx.db.transaction().execute(async (trx) => {
      for (let i = 0; i < n; i++)
        await publishEvent(trx, {
          type: 'app.updated',
          tenant_id,
          data: { app: { id: `beside-hung-${i}`, client_id: `c${i}`, name: `App ${i}` } },
        });
    });
    const other = () => receiver.received.filter((r) => r.url === '/ok?beside-hung');
    await waitFor(() => other().length === n, { timeoutMs: 20_000, intervalMs: 50 });
    // All of the other endpoint's deliveries arrived before the first hung request's 10 s were over ...
    expect(Date.now() - started).toBeLessThan(10_000);
    // ... while the hung receiver held no more than its 16 connections.
    const hanging = receiver.received.filter((r) => r.url === '/hang?many').length;
    expect(hanging).toBeGreaterThan(0);
    expect(hanging).toBeLessThanOrEqual(MAX_SOCKETS_PER_URL);
    await api.delete(`/v1/webhooks/${hung.id}`);
    await api.delete(`/v1/webhooks/${ok.id}`);
  });

  it('SSRF: without the flag, a name that resolves to loopback is refused at delivery, after DNS', async () => {
    const port = new URL(receiver.url).port;
    // The machine's name resolves to 127.0.0.1 (/etc/hosts) but is no literal address: accepted when saved.
    const ep = await strictApi.post('/v1/webhooks', {
      url: `https://${hostname()}:${port}/ok`,
      events: ['app.created'],
    });
    expect(ep.status, ep.text).toBe(201);
    const probe = await newApp(strictApi, 'SSRF probe');
    const d = await waitFor(
      async () => (await strictApi.get(`/v1/webhooks/${ep.json.id}/deliveries`)).json.items[0]?.attempts[0],
    );
    expect(d.ok).toBe(false);
    expect(d.status_code).toBeNull();
    expect(d.error).toMatch(/resolves to a loopback, private, link-local or reserved address/);
    // The resolved address is not shown to the tenant.
    expect(d.error).not.toMatch(/127\.|::1/);
    expect(receiver.received.filter((r) => JSON.parse(r.body).data?.app?.id === probe.id)).toHaveLength(0);
  });

  it('a delivery whose endpoint was deleted is skipped; the event catalogue lists every event', async () => {
    expect(await attemptDelivery(ts.server.services.ctx, 'msg_gone')).toEqual({ kind: 'skipped' });
    expect(WEBHOOK_EVENT_NAMES).toEqual(
      expect.arrayContaining(['secret.expiring', 'secret.expired', 'secret.leaked', 'grant.revoked']),
    );
    const doc = (await api.get('/openapi.json')).json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/webhooks',
        '/api/v1/webhooks/{id}',
        '/api/v1/webhooks/{id}/secret/rotate',
        '/api/v1/webhooks/{id}/deliveries',
        '/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
      ]),
    );
  });
  it('a failing receiver is retried with backoff, redelivery resends the same webhook-id, and after 24 h it fails', async () => {
    const ep = await newEndpoint('/flaky', ['app.created']);
    receiver.status = 503;
    const app = await newApp(api, 'Flaky target');
    const first = await waitFor(async () => {
      const r = await api.get(`/v1/webhooks/${ep.id}/deliveries`);
      return r.json.items[0]?.attempt_count >= 1 && r.json.items[0];
    });
    expect(first).toMatchObject({ status: 'pending', last_status_code: 503, last_error: 'Answered 503.' });
    // Not retried at once: the next attempt waits (exponential backoff, ~5 s for the second).
    await new Promise((r) => setTimeout(r, 400));
    expect((await api.get(`/v1/webhooks/${ep.id}/deliveries`)).json.items[0].attempt_count).toBe(1);
    const endpoint = (await api.get(`/v1/webhooks/${ep.id}`)).json;
    expect(endpoint.failing_since).not.toBeNull();
    // The receiver recovers; time passes; the retry succeeds.
    receiver.status = 200;
    await advance(60_000);
    const done = await waitFor(async () => {
      const r = await api.get(`/v1/webhooks/${ep.id}/deliveries`);
      return r.json.items[0]?.status === 'succeeded' && r.json.items[0];
    });
    expect(done.attempt_count).toBe(2);
    expect(done.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 200]);
    expect((await api.get(`/v1/webhooks/${ep.id}`)).json.failing_since).toBeNull();
    const flaky = about('/flaky', app.id);
    expect(new Set(flaky.map((r) => r.headers['webhook-id'])).size).toBe(1);

    // Redeliver: the same webhook-id again, a new attempt in the log.
    const re = await api.post(`/v1/webhooks/${ep.id}/deliveries/${done.id}/redeliver`);
    expect(re.status).toBe(202);
    expect(re.json.status).toBe('pending');
    await waitFor(
      async () => (await api.get(`/v1/webhooks/${ep.id}/deliveries`)).json.items[0].attempt_count === 3,
    );
    const again = about('/flaky', app.id);
    expect(again).toHaveLength(3);
    expect(again[2]?.headers['webhook-id']).toBe(done.id);
    expect((await api.post(`/v1/webhooks/${ep.id}/deliveries/nope/redeliver`)).status).toBe(404);

    // A receiver that keeps failing: after 24 hours of retries the delivery is failed.
    receiver.status = 500;
    const app2 = await newApp(api, 'Doomed');
    const pending = await waitFor(async () => {
      const r = await api.get(`/v1/webhooks/${ep.id}/deliveries`);
      const d = r.json.items.find(
        (x: { attempt_count: number; status: string }) => x.attempt_count >= 1 && x.status === 'pending',
      );
      return d;
    });
    await advance(25 * 3600_000);
    const failed = await waitFor(async () => {
      const r = await api.get(`/v1/webhooks/${ep.id}/deliveries?status=failed`);
      return r.json.items.find((x: { id: string }) => x.id === pending.id);
    });
    expect(failed.attempt_count).toBe(2);
    expect(failed.completed_at).not.toBeNull();
    expect(app2.id).toBeTruthy();
    receiver.status = 200;
  });

  it('an endpoint failing for 3 days is disabled (audit log records it) and gets nothing more', async () => {
    const ep = await newEndpoint('/fail', ['app.created']);
    await newApp(api, 'Day 0');
    await waitFor(async () => (await api.get(`/v1/webhooks/${ep.id}`)).json.failing_since !== null);
    await advance(3 * 24 * 3600_000 + 60_000);
    await newApp(api, 'Day 3');
    const disabled = await waitFor(async () => {
      const r = await api.get(`/v1/webhooks/${ep.id}`);
      return !r.json.enabled && r.json;
    });
    expect(disabled.disabled_reason).toMatch(/disabled after 3 days/);
    const audit = await api.get('/v1/audit-events?type=webhook.disabled');
    expect(
      audit.json.items.some((e: { data: { endpoint_id: string } }) => e.data.endpoint_id === ep.id),
    ).toBe(true);
    // Created by a management client (no user): the tenant's admins are told, by mail.
    const mail = await waitFor(() =>
      smtp.to(ts.admin.email).find((m) => m.text.includes(`${receiver.url}/fail`)),
    );
    expect(mail.subject).toBe('A webhook endpoint was disabled');
    expect(mail.text).toContain(`${ts.url}/admin/webhooks/${ep.id}`);
    expect(mail.text).toContain('Last answer: Answered 500.');
    expect(mail.html).toContain(`${receiver.url}/fail`);
    const before = receiver.received.filter((r) => r.path === '/fail').length;
    await newApp(api, 'Day 3 again');
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.received.filter((r) => r.path === '/fail').length).toBe(before);
    // Redelivery needs it enabled first; enabling forgets the failures.
    const d = (await api.get(`/v1/webhooks/${ep.id}/deliveries`)).json.items[0];
    expect((await api.post(`/v1/webhooks/${ep.id}/deliveries/${d.id}/redeliver`)).json.code).toBe(
      'webhook_disabled',
    );
    const on = await api.patch(`/v1/webhooks/${ep.id}`, { enabled: true });
    expect(on.json).toMatchObject({ enabled: true, disabled_at: null, failing_since: null });
    await api.delete(`/v1/webhooks/${ep.id}`);
  });
});
