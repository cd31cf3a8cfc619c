import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/database.js';
import { migrationProvider } from '../src/db/migrations/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

/** Migration 0010 on a database with apps from before it: each keeps the grants it had. */
let tdb: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  tdb = await createTestDatabase();
  handle = tdb.open();
});
afterAll(async () => {
  await handle?.close();
  await tdb?.drop();
});

describe('migration 0010_device_codes', () => {
  it("backfills grant_types from the client type; the CLI's client gets the device grant", async () => {
    const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
    const before = await migrator.migrateTo('0007_app_pending_change');
    expect(before.error).toBeUndefined();
    const db = handle.db as any;
    await db
      .insertInto('tenants')
      .values({
        id: 't1',
        name: 'T',
        kind: 'default',
        allow_app_registration: 1,
        secret_max_lifetime_days: 730,
        secret_allow_never_expire: 0,
        created_at: 0,
      })
      .execute();
    const app = (id: string, clientId: string, clientType: string) => ({
      id,
      client_id: clientId,
      tenant_id: 't1',
      owner_user_id: null,
      name: id,
      description: '',
      visibility: 'private',
      client_type: clientType,
      callback_url: 'https://app.example/cb',
      scopes: '',
      default_scopes: '',
      status: 'draft',
      review_note: null,
      pending_change: null,
      created_at: 0,
      updated_at: 0,
      deleted_at: null,
    });
    await db
      .insertInto('apps')
      .values([
        app('a-conf', 'conf', 'confidential'),
        app('a-pub', 'pub', 'public'),
        app('a-cli', 'clavis-cli', 'public'),
      ])
      .execute();
    expect(await migrateToLatest(handle)).toContain('0010_device_codes');
    const rows = await handle.db.selectFrom('apps').select(['client_id', 'grant_types']).execute();
    const by = Object.fromEntries(rows.map((r) => [r.client_id, r.grant_types]));
    expect(by).toEqual({
      conf: 'authorization_code refresh_token client_credentials',
      pub: 'authorization_code refresh_token',
      'clavis-cli': 'authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code',
    });
  });
});
