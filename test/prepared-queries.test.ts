import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { prepared, slot } from '../src/db/prepared.js';
import { inTransaction } from '../src/db/transaction.js';
import { useMigratedTestDatabase } from './helpers/migrated-db.js';

/** Queries compiled once and run with values by name (`src/db/prepared.ts`), on the test's database. */
const tdb = useMigratedTestDatabase();

// A table of the schema with no foreign keys: change_version is (id, version).
const readVersion = prepared((db) =>
  db.selectFrom('change_version').select('version').where('id', '=', slot<number>('id')),
);
const setVersion = prepared((db) =>
  db
    .updateTable('change_version')
    .set({ version: slot<number>('version') })
    .where('id', '=', slot<number>('id'))
    .where('version', '<', slot<number>('version')),
);

describe('prepared queries', () => {
  it('bind values by name, whatever order the compiler emits them in', async () => {
    const before = Number((await readVersion.run(tdb.handle.db, { id: 1 })).rows[0]?.version);
    expect(Number.isFinite(before)).toBe(true);
    // "version" appears twice (set and where), "id" once between them.
    const res = await setVersion.run(tdb.handle.db, { version: before + 5, id: 1 });
    expect(Number(res.numAffectedRows)).toBe(1);
    expect(Number((await readVersion.run(tdb.handle.db, { id: 1 })).rows[0]?.version)).toBe(before + 5);
    // The same values again: the where clause now excludes the row.
    expect(
      Number((await setVersion.run(tdb.handle.db, { version: before + 5, id: 1 })).numAffectedRows),
    ).toBe(0);
    expect((await readVersion.run(tdb.handle.db, { id: 2 })).rows).toEqual([]);
  });

  it('run inside a transaction, and roll back with it', async () => {
    const before = Number((await readVersion.run(tdb.handle.db, { id: 1 })).rows[0]?.version);
    await expect(
      inTransaction(tdb.handle.db, async (trx) => {
        await setVersion.run(trx, { version: before + 1, id: 1 });
        expect(Number((await readVersion.run(trx, { id: 1 })).rows[0]?.version)).toBe(before + 1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(Number((await readVersion.run(tdb.handle.db, { id: 1 })).rows[0]?.version)).toBe(before);
  });

  it('work for raw SQL, and refuse to run with a value missing', async () => {
    const raw = prepared((db) => ({
      compile: () => sql<{ n: number }>`select ${slot<number>('a')} + 0 as n`.compile(db),
    }));
    expect(Number((await raw.run(tdb.handle.db, { a: 41 })).rows[0]?.n)).toBe(41);
    expect(() => raw.run(tdb.handle.db, {})).toThrow(/no value for slot "a"/);
  });
});
