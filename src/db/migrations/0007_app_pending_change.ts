import type { Kysely } from 'kysely';

/**
 * `apps.pending_change`: a change to an approved public app that awaits review, as JSON text (the changed
 * reviewed fields' new values, when and by whom). The app's live fields stay as approved until a reviewer
 * approves the change; null when nothing is pending.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').addColumn('pending_change', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').dropColumn('pending_change').execute();
}
