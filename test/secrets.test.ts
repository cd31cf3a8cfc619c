import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../src/domain/errors.js';
import { addMonths, addSecret, listSecrets, refreshSecret, revokeSecret } from '../src/domain/secrets.js';
import { updateTenantSettings } from '../src/domain/tenants.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

const ctx = () => ts.server.services.ctx;

describe('client secret storage', () => {
  it('stores only a keyed hash, the 3-character hint and a secret ID distinct from everything else', async () => {
    const { app, secret, secretId } = await createTestApp(ts);
    const rows = await ctx()
      .db.selectFrom('client_secrets')
      .selectAll()
      .where('app_id', '=', app.id)
      .execute();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.hint).toBe(secret!.slice(0, 3));
    expect(row.id).toBe(secretId);
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.id).not.toBe(app.id);
    expect(row.id).not.toBe(app.client_id);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.hash).not.toBe(secret);
    // Keyed: the hash is not a plain SHA-256 of the value.
    const { createHash } = await import('node:crypto');
    expect(row.hash).not.toBe(createHash('sha256').update(secret!).digest('base64url'));
  });

  it('keeps the three identifiers apart: object id, client_id, tenant id', async () => {
    const { app } = await createTestApp(ts);
    expect(new Set([app.id, app.client_id, app.tenant_id]).size).toBe(3);
    expect(app.client_id).toMatch(/^[a-f0-9]{32}$/);
  });

  it('never lists a value', async () => {
    const { app, secret } = await createTestApp(ts);
    const list = await listSecrets(ctx(), await adminActor(ts), app.id);
    expect(JSON.stringify(list)).not.toContain(secret);
    expect(list[0]).not.toHaveProperty('value');
    expect(list[0]).not.toHaveProperty('hash');
  });

  it('holds at most 5 active secrets', async () => {
    const { app } = await createTestApp(ts);
    const actor = await adminActor(ts);
    for (let i = 0; i < 4; i++) await addSecret(ctx(), actor, app.id, { description: `#${i}` });
    await expect(addSecret(ctx(), actor, app.id, {})).rejects.toMatchObject({ code: 'limit' });
    const list = await listSecrets(ctx(), actor, app.id);
    await revokeSecret(ctx(), actor, app.id, list[0]!.id);
    await expect(addSecret(ctx(), actor, app.id, {})).resolves.toHaveProperty('value');
  });

  it('defaults to 6 months and enforces the tenant policy', async () => {
    const { app } = await createTestApp(ts);
    const actor = await adminActor(ts);
    const s = await addSecret(ctx(), actor, app.id, {});
    expect(s.expires_at).toBe(addMonths(s.created_at, 6));
    const y2 = await addSecret(ctx(), actor, app.id, { expires_in_months: 24 });
    expect(y2.expires_at).toBe(addMonths(y2.created_at, 24));
    await expect(addSecret(ctx(), actor, app.id, { expires_in_months: 36 })).rejects.toMatchObject({
      code: 'validation',
      fields: { expires_in_months: expect.stringContaining('730 days') },
    });
    await expect(addSecret(ctx(), actor, app.id, { never_expires: true })).rejects.toBeInstanceOf(
      DomainError,
    );
    await expect(addSecret(ctx(), actor, app.id, { expires_at: Date.now() - 1000 })).rejects.toBeInstanceOf(
      DomainError,
    );
    await updateTenantSettings(ctx(), actor, app.tenant_id, {
      secret_allow_never_expire: true,
      secret_max_lifetime_days: 30,
    });
    try {
      const never = await addSecret(ctx(), actor, app.id, { never_expires: true });
      expect(never.expires_at).toBeNull();
      await expect(addSecret(ctx(), actor, app.id, { expires_in_months: 6 })).rejects.toBeInstanceOf(
        DomainError,
      );
    } finally {
      await updateTenantSettings(ctx(), actor, app.tenant_id, {
        secret_allow_never_expire: false,
        secret_max_lifetime_days: 730,
      });
    }
  });

  it('refresh replaces the current secret in one step and records it', async () => {
    const { app, secretId } = await createTestApp(ts);
    const actor = await adminActor(ts);
    const fresh = await refreshSecret(ctx(), actor, app.id, secretId!);
    const list = await listSecrets(ctx(), actor, app.id);
    expect(list.find((s) => s.id === secretId)!.revoked_at).not.toBeNull();
    expect(list.find((s) => s.id === fresh.id)!.revoked_at).toBeNull();
    const events = await ctx()
      .db.selectFrom('audit_events')
      .selectAll()
      .where('app_id', '=', app.id)
      .execute();
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['app.created', 'secret.created', 'secret.refreshed']),
    );
    expect(JSON.stringify(events)).not.toContain(fresh.value);
    await expect(refreshSecret(ctx(), actor, app.id, secretId!)).rejects.toMatchObject({ code: 'conflict' });
    await expect(
      refreshSecret(ctx(), actor, app.id, '00000000-0000-4000-8000-000000000000'),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('public clients have no secrets', async () => {
    const { app, secret } = await createTestApp(ts, { client_type: 'public' });
    expect(secret).toBeNull();
    await expect(addSecret(ctx(), await adminActor(ts), app.id, {})).rejects.toMatchObject({
      code: 'validation',
    });
  });
});

describe('last use', () => {
  it('records first use once and last_used_at to the minute without a write per request', async () => {
    const { app, secret, secretId } = await createTestApp(ts);
    const auth = { authorization: basicAuth(app.client_id, secret!) };
    const updates: string[] = [];
    const db = ctx().db;
    // Count UPDATEs on client_secrets while 20 token requests run.
    const orig = db.updateTable.bind(db);
    (db as unknown as { updateTable: typeof db.updateTable }).updateTable = ((t: string) => {
      updates.push(t);
      return orig(t as never);
    }) as typeof db.updateTable;
    try {
      for (let i = 0; i < 20; i++)
        expect(
          (await postForm(`${ts.url}/oauth/token`, { grant_type: 'client_credentials' }, auth)).status,
        ).toBe(200);
      // The usage stamp is written after the response: wait for it to land.
      await waitFor(
        async () =>
          (
            await db
              .selectFrom('client_secrets')
              .select('last_used_at')
              .where('id', '=', secretId!)
              .executeTakeFirst()
          )?.last_used_at != null,
        { what: 'the usage stamp' },
      );
    } finally {
      (db as unknown as { updateTable: typeof db.updateTable }).updateTable = orig;
    }
    expect(updates.filter((t) => t === 'client_secrets').length).toBeLessThanOrEqual(2);
    const row = await db
      .selectFrom('client_secrets')
      .selectAll()
      .where('id', '=', secretId!)
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).not.toBeNull();
    expect(Math.abs(row.last_used_at! - Date.now())).toBeLessThan(60_000);
    const firstUse = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('secret_id', '=', secretId!)
      .where('type', '=', 'secret.first_used')
      .execute();
    expect(firstUse).toHaveLength(1);
    expect(firstUse[0]!.actor).toBe(`client:${app.client_id}`);
  });
});
