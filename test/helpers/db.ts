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
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
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
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
