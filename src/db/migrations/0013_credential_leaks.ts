import type { Kysely } from 'kysely';

/**
 * Leaked-secret reports (issue 16, part 4):
 * - `tenants.leaked_secret_policy`: what a report of a live secret does, `revoke` (at once, the default)
 *   or `notify` (mail and event only).
 * - `credential_leaks`: one row per reported secret (the first report; `secret_id` is unique, so two nodes
 *   taking reports of the same secret notify once). Holds where it was found, never the value.
 * - An index on `client_secrets.hash`, so a reported value is found by its keyed hash in one lookup.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('leaked_secret_policy', 'text', (c) => c.notNull().defaultTo('revoke'))
    .execute();
  await db.schema
    .createTable('credential_leaks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('secret_id', 'text', (c) => c.notNull().unique().references('client_secrets.id'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('credential_leaks_app_idx')
    .on('credential_leaks')
    .columns(['app_id', 'created_at'])
    .execute();
  await db.schema.createIndex('client_secrets_hash_idx').on('client_secrets').column('hash').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('client_secrets_hash_idx').execute();
  await db.schema.dropTable('credential_leaks').execute();
  await db.schema.alterTable('tenants').dropColumn('leaked_secret_policy').execute();
}
