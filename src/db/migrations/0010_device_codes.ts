import { type Kysely, sql } from 'kysely';

/**
 * The device authorization grant (RFC 8628) and the grant types an app may use.
 *
 * - `apps.grant_types`: the app's grant types, space-separated (RFC 7591 §2 `grant_types`). Existing apps keep
 *   what they could do before: confidential apps `authorization_code refresh_token client_credentials`, public
 *   apps `authorization_code refresh_token`; the CLI's own client (`clavis-cli`) also gets the device grant,
 *   for `clavis login --device`.
 * - `device_codes`: one row per device authorization request. The device code and the user code are stored
 *   only as keyed hashes; `status` moves pending → approved | denied, and approved → redeemed exactly once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('apps')
    .addColumn('grant_types', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await sql`update apps set grant_types = 'authorization_code refresh_token client_credentials' where client_type = 'confidential'`.execute(
    db,
  );
  await sql`update apps set grant_types = 'authorization_code refresh_token' where client_type = 'public'`.execute(
    db,
  );
  await sql`update apps set grant_types = 'authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code' where client_id = 'clavis-cli'`.execute(
    db,
  );

  await db.schema
    .createTable('device_codes')
    .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    // The API the authorization is for, as `grants.api_id` (null: the built-in sample API).
    .addColumn('api_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('interval_s', 'integer', (c) => c.notNull())
    .addColumn('last_polled_at', 'bigint')
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('auth_time', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    .execute();
  await db.schema.createIndex('device_codes_exp_idx').on('device_codes').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('device_codes').execute();
  await db.schema.alterTable('apps').dropColumn('grant_types').execute();
}
