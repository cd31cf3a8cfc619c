import type { Kysely } from 'kysely';

/**
 * Links each refresh token to the one it replaced (`replaces`, the predecessor's hash), so a retry with the
 * previous token within the configured reuse grace can find and invalidate its unused successor.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('refresh_tokens').addColumn('replaces', 'text').execute();
  await db.schema.createIndex('refresh_tokens_replaces').on('refresh_tokens').column('replaces').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('refresh_tokens_replaces').execute();
  await db.schema.alterTable('refresh_tokens').dropColumn('replaces').execute();
}
