import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectAdmin, PG_URL, TEST_DB } from './helpers/db.js';

// `npm run test:pg` on a server without the test database: the helper creates it instead of failing raw.
describe.skipIf(TEST_DB !== 'postgres')('test database helper (PostgreSQL)', () => {
  it('creates the base database when it does not exist yet', async () => {
    const name = `clavis_missing_${randomBytes(4).toString('hex')}`;
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    const client = await connectAdmin(u.toString());
    try {
      const { rows } = await client.query('SELECT current_database() AS db');
      expect(rows[0].db).toBe(name);
    } finally {
      await client.end();
      u.pathname = '/postgres';
      const c = new pg.Client({ connectionString: u.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    }
  });
});
