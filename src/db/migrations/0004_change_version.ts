import type { Kysely } from 'kysely';

/**
 * One row holding a counter that every transaction changing cached security state (apps, secrets, revoked
 * tokens) increments. PostgreSQL nodes read it before trusting their caches (see src/db/version-gate.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('change_version')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await (db as Kysely<{ change_version: { id: number; version: number } }>)
    .insertInto('change_version')
    .values({ id: 1, version: 0 })
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('change_version').execute();
}
