import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config/config.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/database.js';

/** Which database this run tests: `CLAVIS_TEST_DB=postgres` switches every storage and integration test. */
export const TEST_DB: 'sqlite' | 'postgres' =
  process.env.CLAVIS_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
export const PG_URL = process.env.CLAVIS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A connection to the database in `url` (the one test databases are created from), creating that database
 * first when it does not exist yet (SQLSTATE 3D000), through the `postgres` maintenance database.
 */
export async function connectAdmin(url: string = PG_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    if ((err as { code?: string }).code !== '3D000') throw err;
  }
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  const maintenance = new pg.Client({ connectionString: u.toString() });
  try {
    await maintenance.connect();
    await maintenance.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (err) {
    // Another test file may have created it in the meantime (42P04: duplicate_database).
    if ((err as { code?: string }).code !== '42P04')
      throw new Error(
        `The test database "${name}" does not exist and could not be created through ${u.toString()} ` +
          `(${(err as Error).message}). Create it with: createdb -h ${u.hostname} -p ${u.port || 5432} ` +
          `-U ${decodeURIComponent(u.username) || 'postgres'} ${name}, or point CLAVIS_TEST_PG_URL at an existing database.`,
      );
  } finally {
    await maintenance.end().catch(() => {});
  }
  const retry = new pg.Client({ connectionString: url });
  await retry.connect();
  return retry;
}

export interface TestDatabase {
  /** The URL a server process would use (`CLAVIS_DATABASE_URL`). */
  url: string;
  config: DatabaseConfig;
  open(): DatabaseHandle;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: a temp SQLite file, or a new PostgreSQL database (so that
 * separate server processes can share it by URL).
 */
export async function createTestDatabase(kind: 'sqlite' | 'postgres' = TEST_DB): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'clavis-test-'));
    const path = join(dir, 'clavis.db');
    const config: DatabaseConfig = { kind: 'sqlite', path };
    return {
      url: `sqlite:${path}`,
      config,
      open: () => openDatabase(config),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `clavis_t_${randomBytes(6).toString('hex')}`;
  const admin = await connectAdmin();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const config: DatabaseConfig = { kind: 'postgres', url };
  return {
    url,
    config,
    open: () => openDatabase(config, { poolSize: 5 }),
    drop: async () => {
      const c = await connectAdmin();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
