import type { Kysely } from 'kysely';

/**
 * The durable outbox (messages written in the transaction of the change that causes them, delivered later by
 * a worker with retries), single-use email tokens (address verification and password reset, stored as keyed
 * hashes), a user's verified address, and the expiry notices sent per secret and threshold (one row each,
 * so a notice goes out once whatever the nodes or the clock do).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('available_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('done_at', 'bigint')
    .execute();
  await db.schema.createIndex('outbox_due_idx').on('outbox').columns(['status', 'available_at']).execute();

  await db.schema
    .createTable('email_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    // Null for a sign-up awaiting its address check: the account is created when the link is followed.
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    // A pending sign-up's name and password hash (JSON); null otherwise.
    .addColumn('data', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('email_tokens_user_idx').on('email_tokens').column('user_id').execute();

  await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute();
  await db.schema
    .alterTable('tenants')
    .addColumn('expiry_notice_recipients', 'text', (c) => c.notNull().defaultTo('owner_and_admins'))
    .execute();

  await db.schema
    .createTable('secret_expiry_notices')
    .addColumn('secret_id', 'text', (c) => c.notNull().references('client_secrets.id').onDelete('cascade'))
    .addColumn('threshold', 'integer', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addColumn('recipients', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('secret_expiry_notices_pk', ['secret_id', 'threshold'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('secret_expiry_notices').execute();
  await db.schema.alterTable('tenants').dropColumn('expiry_notice_recipients').execute();
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
  await db.schema.dropTable('email_tokens').execute();
  await db.schema.dropTable('outbox').execute();
}
