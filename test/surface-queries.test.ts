import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorForActiveUser, actorForSessionUser, actorForUser } from '../src/domain/actors.js';
import { createApp, submitApp } from '../src/domain/apps.js';
import { tenantNames, userEmails } from '../src/domain/display-names.js';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  findIdempotencyRecord,
  purgeIdempotencyRecords,
  releaseIdempotencyKey,
} from '../src/domain/idempotency-store.js';
import { newestStoredTimestamp, signingKeyReport } from '../src/domain/maintenance-report.js';
import { reviewQueue } from '../src/domain/review-queue.js';
import { updateUser } from '../src/domain/user-management.js';
import { deleteUser } from '../src/domain/users.js';
import { adminActor, startTestServer, type TestServer } from './helpers/server.js';
import { createTenant, createUser } from './helpers/users.js';

// The domain functions behind what the hub, the management API and `clavis doctor` used to query directly.

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

const ctx = () => ts.server.services.ctx;

describe('actors', () => {
  it('an admin of the default tenant is a platform admin; of another tenant, or another role, is not', () => {
    const user = { id: 'u1', tenant_id: 't1', role: 'admin' };
    expect(actorForUser(user, 'default')).toEqual({
      id: 'user:u1',
      tenantId: 't1',
      userId: 'u1',
      role: 'admin',
      platformAdmin: true,
    });
    expect(actorForUser(user, 'organization').platformAdmin).toBe(false);
    expect(actorForUser({ ...user, role: 'developer' }, 'default').platformAdmin).toBe(false);
  });

  it('a session user gets their tenant kind from the database', async () => {
    const org = await createTenant(ts);
    const { user: orgAdmin } = await createUser(ts, { tenantId: org.id, role: 'admin' });
    const { user: opAdmin } = await createUser(ts, { role: 'admin' });
    expect((await actorForSessionUser(ctx(), orgAdmin)).platformAdmin).toBe(false);
    expect((await actorForSessionUser(ctx(), opAdmin)).platformAdmin).toBe(true);
  });

  it('a token user acts only while they exist and are enabled', async () => {
    const { user } = await createUser(ts, { role: 'developer' });
    expect(await actorForActiveUser(ctx(), user.id)).toMatchObject({
      id: `user:${user.id}`,
      tenantId: user.tenant_id,
      role: 'developer',
      platformAdmin: false,
    });
    await updateUser(ctx(), await adminActor(ts), user.id, { disabled: true });
    expect(await actorForActiveUser(ctx(), user.id)).toBeNull();
    await deleteUser(ctx(), await adminActor(ts), user.id);
    expect(await actorForActiveUser(ctx(), user.id)).toBeNull();
    expect(await actorForActiveUser(ctx(), 'no-such-user')).toBeNull();
  });
});

describe('display names and the review queue', () => {
  it('maps ids to emails and tenant names, skipping unknown ids', async () => {
    const org = await createTenant(ts, 'Names Org');
    const { user, email } = await createUser(ts, { tenantId: org.id });
    const emails = await userEmails(ctx(), [user.id, user.id, 'gone']);
    expect([...emails]).toEqual([[user.id, email]]);
    expect((await tenantNames(ctx(), [org.id, 'gone'])).get(org.id)).toBe('Names Org');
    expect((await userEmails(ctx(), [])).size).toBe(0);
  });

  it('lists public apps in review with their tenant name and owner email', async () => {
    const org = await createTenant(ts, `Review Org ${randomBytes(2).toString('hex')}`);
    const { user: dev, email } = await createUser(ts, { tenantId: org.id, role: 'developer' });
    const devActor = actorForUser(dev, org.kind);
    const { app } = await createApp(ctx(), devActor, {
      name: 'Queued app',
      visibility: 'public',
      client_type: 'confidential',
      callback_url: 'https://queued.clavis-apps.dev/cb',
      scopes: ['profile:read'],
    });
    await submitApp(ctx(), devActor, app.id);
    const queue = await reviewQueue(ctx(), await adminActor(ts));
    const item = queue.find((i) => i.app.id === app.id);
    expect(item).toMatchObject({ tenantName: org.name, ownerEmail: email });
    expect(item?.app.status).toBe('in_review');
    // A tenant admin who is not a platform admin sees no other tenant's apps in it.
    const { user: otherAdmin } = await createUser(ts, {
      tenantId: (await createTenant(ts)).id,
      role: 'admin',
    });
    const theirs = await reviewQueue(ctx(), actorForUser(otherAdmin, 'organization'));
    expect(theirs.some((i) => i.app.id === app.id)).toBe(false);
  });
});

describe('idempotency store', () => {
  it('claims a key once, records the response, frees it on failure and purges old records', async () => {
    const scope = `user:x POST /v1/apps ${randomBytes(4).toString('hex')}`;
    const now = ctx().now();
    expect(await claimIdempotencyKey(ctx(), scope, 'k1', '{"fp":"a"}', now - 1000)).toBe(true);
    expect(await claimIdempotencyKey(ctx(), scope, 'k1', '{"fp":"b"}', now - 1000)).toBe(false);
    expect(await findIdempotencyRecord(ctx(), scope, 'k1')).toEqual({ status: 0, body: '{"fp":"a"}' });
    await completeIdempotencyKey(ctx(), scope, 'k1', { status: 201, body: '{"fp":"a","sealed":"s"}' });
    expect(await findIdempotencyRecord(ctx(), scope, 'k1')).toEqual({
      status: 201,
      body: '{"fp":"a","sealed":"s"}',
    });
    // A record older than the window no longer holds the key.
    expect(await claimIdempotencyKey(ctx(), scope, 'k1', '{"fp":"c"}', now + 60_000)).toBe(true);
    expect((await findIdempotencyRecord(ctx(), scope, 'k1'))?.body).toBe('{"fp":"c"}');
    await releaseIdempotencyKey(ctx(), scope, 'k1');
    expect(await findIdempotencyRecord(ctx(), scope, 'k1')).toBeUndefined();
    expect(await claimIdempotencyKey(ctx(), scope, 'k2', '{}', now - 1000)).toBe(true);
    expect(await purgeIdempotencyRecords(ctx(), now - 60_000)).toBe(0);
    expect(await purgeIdempotencyRecords(ctx(), ctx().now() + 60_000)).toBeGreaterThanOrEqual(1);
    expect(await findIdempotencyRecord(ctx(), scope, 'k2')).toBeUndefined();
  });
});

describe('maintenance report', () => {
  it('counts signing keys and whether the secret key opens them', async () => {
    const db = ctx().db;
    const right = await signingKeyReport(db, ts.config.secretKey);
    expect(right.total).toBeGreaterThanOrEqual(1);
    // One active key per algorithm: the access tokens' one, and RS256/ES256/EdDSA for ID tokens (deduplicated).
    expect(right.active).toBe(3);
    expect(right.readable).toBe(right.total);
    expect((await signingKeyReport(db, randomBytes(32))).readable).toBe(0);
    expect((await signingKeyReport(db, null)).readable).toBeNull();
  });

  it('reports the newest stored timestamp', async () => {
    const at = await newestStoredTimestamp(ctx().db);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
  });
});
