import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { inTransaction } from '../src/db/transaction.js';
import { TEST_DB } from './helpers/db.js';
import { useMigratedTestDatabase } from './helpers/migrated-db.js';

/**
 * The pg client runs repeated queries as named prepared statements (`namedStatementClient` in
 * `src/db/database.ts`), so PostgreSQL plans them once per connection. PostgreSQL only; reported skipped on
 * SQLite.
 */
const tdb = useMigratedTestDatabase();

describe.runIf(TEST_DB === 'postgres')('named prepared statements (PostgreSQL)', () => {
  it('name a query from its second run, on the server, and keep answering right', async () => {
    const marker = `named-${Math.random()}`;
    const names = await inTransaction(tdb.handle.db, async (trx) => {
      for (let i = 0; i < 3; i++) {
        const r = await trx
          .selectFrom('change_version')
          .select(sql<string>`${marker}::text`.as('m'))
          .where('id', '=', 1)
          .execute();
        expect(r).toEqual([{ m: marker }]);
      }
      // A transaction holds one connection, so this sees the statements prepared on it.
      return (
        await sql<{
          name: string;
          statement: string;
        }>`select name, statement from pg_prepared_statements`.execute(trx)
      ).rows;
    });
    expect(names.some((n) => /^clavis_\d+$/.test(n.name) && n.statement.includes('change_version'))).toBe(
      true,
    );
  });

  it('survive a table changed under a prepared SELECT * (a migration during a rolling upgrade)', async () => {
    await sql`create table named_probe (id int primary key)`.execute(tdb.handle.db);
    try {
      await sql`insert into named_probe values (1)`.execute(tdb.handle.db);
      // A pool of one connection would make this deterministic; with the default pool every connection that
      // ran the statement holds it, so run it often enough that the one used after the change did.
      const read = () =>
        tdb.handle.db
          .selectFrom('named_probe' as never)
          .selectAll()
          .execute();
      for (let i = 0; i < 30; i++) await read();
      await sql`alter table named_probe add column extra text default 'x'`.execute(tdb.handle.db);
      for (let i = 0; i < 30; i++) expect(await read()).toEqual([{ id: 1, extra: 'x' }]);
    } finally {
      await sql`drop table named_probe`.execute(tdb.handle.db);
    }
  });
});
