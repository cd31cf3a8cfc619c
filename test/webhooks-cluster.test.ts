import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeAppAccess } from '../src/domain/grants.js';
import { ApiClient } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { managementToken, startTestServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * Two nodes on one database (PostgreSQL with CLAVIS_TEST_DB=postgres, else one SQLite file), each with its
 * own pool and outbox worker: every delivery reaches the receiver exactly once.
 */
let db: TestDatabase;
let a: TestServer;
let b: TestServer;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await new WebhookReceiver().start();
  db = await createTestDatabase();
  const env = { CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true', CLAVIS_OUTBOX_POLL_MS: '50' };
  a = await startTestServer({ db, env });
  // The second node shares the first's database and secret key (bootstrap finds everything in place).
  b = await startTestServer({
    db,
    env: { ...env, CLAVIS_SECRET_KEY: a.config.secretKey.toString('base64url') },
  });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await db?.drop();
  await receiver?.close();
});

describe('two nodes', () => {
  it('each delivery goes out exactly once', { timeout: 60_000 }, async () => {
    const apiA = new ApiClient(a, await managementToken(a));
    // b's bootstrap client is a's (same database): a token from b's issuer, for b's API.
    const apiB = new ApiClient(b, await managementToken({ ...b, bootstrapClient: a.bootstrapClient }));
    const ep = await apiA.post('/v1/webhooks', { url: `${receiver.url}/ok`, events: ['*'] });
    expect(ep.status).toBe(201);
    receiver.secrets.push(ep.json.secret);
    const n = 30;
    const apps = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        (i % 2 ? apiA : apiB).post('/v1/apps', {
          name: `Cluster app ${i}`,
          visibility: 'private',
          client_type: 'confidential',
          callback_url: 'https://cluster.example.com/cb',
          scopes: ['contacts:read'],
        }),
      ),
    );
    for (const r of apps) expect(r.status).toBe(201);
    // app.created + secret.created per app.
    await waitFor(() => receiver.events().length >= 2 * n, {
      timeoutMs: 30_000,
      what: `${2 * n} deliveries`,
    });
    await new Promise((r) => setTimeout(r, 1000)); // time for any duplicate to show up
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(2 * n);
    expect(new Set(ids).size).toBe(2 * n);
    expect(receiver.events('app.created')).toHaveLength(n);
    expect(receiver.events('secret.created')).toHaveLength(n);
    const log = await apiB.get(`/v1/webhooks/${ep.json.id}/deliveries?limit=200`);
    expect(log.json.items).toHaveLength(2 * n);
    for (const d of log.json.items) expect(d).toMatchObject({ status: 'succeeded', attempt_count: 1 });
  });

  it('a user disconnecting an app sends grant.revoked to the app tenant', async () => {
    const ctx = a.server.services.ctx;
    const app = await ctx.db
      .selectFrom('apps')
      .select(['id', 'client_id', 'name', 'tenant_id'])
      .where('name', '=', 'Cluster app 0')
      .executeTakeFirstOrThrow();
    const user = await ctx.db.selectFrom('users').select(['id', 'tenant_id']).executeTakeFirstOrThrow();
    const now = Date.now();
    await ctx.db
      .insertInto('grants')
      .values({
        id: 'grant-under-test',
        user_id: user.id,
        app_id: app.id,
        client_id: app.client_id,
        tenant_id: user.tenant_id,
        scope: 'contacts:read',
        auth_time: now,
        created_at: now,
        redeemed_at: now,
        revoked_at: null,
      })
      .execute();
    expect(await revokeAppAccess(ctx, user.id, app.id)).toBe(1);
    const got = await waitFor(() => receiver.events('grant.revoked')[0]);
    expect(got.verified?.data).toEqual({
      app: { id: app.id, client_id: app.client_id, name: app.name },
      grant_id: 'grant-under-test',
      user_id: user.id,
      user_tenant_id: user.tenant_id,
      actor: `user:${user.id}`,
    });
  });
});
