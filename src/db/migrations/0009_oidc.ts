import type { Kysely } from 'kysely';

/**
 * OpenID Connect: the data an ID token, UserInfo and logout need.
 *
 * - `users.email_verified` (0/1) and `users.updated_at` (epoch ms; existing rows take their `created_at`),
 *   for the `email` and `profile` claims.
 * - `grants.sid` (the session the grant came from, for `sid` and back-channel logout) and `grants.acr`
 *   (the `acr` to repeat in ID tokens when the request asked for one).
 * - `authorization_codes.nonce`: the request's `nonce`, echoed in the code's ID token only.
 * - `apps.id_token_signed_response_alg`, `apps.post_logout_redirect_uri`, `apps.backchannel_logout_uri`.
 * - The OIDC standard scopes `openid`, `profile` and `email` in the catalogue.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('users').addColumn('updated_at', 'bigint').execute();
  // biome-ignore lint/suspicious/noExplicitAny: the migration runs before the typed schema knows the column
  const anyDb = db as Kysely<any>;
  await anyDb
    .updateTable('users')
    .set((eb) => ({ updated_at: eb.ref('created_at') }))
    .execute();

  await db.schema.alterTable('grants').addColumn('sid', 'text').execute();
  await db.schema.alterTable('grants').addColumn('acr', 'text').execute();
  await db.schema.createIndex('grants_sid_idx').on('grants').column('sid').execute();
  await db.schema.alterTable('authorization_codes').addColumn('nonce', 'text').execute();

  await db.schema
    .alterTable('apps')
    .addColumn('id_token_signed_response_alg', 'text', (c) => c.notNull().defaultTo('RS256'))
    .execute();
  await db.schema.alterTable('apps').addColumn('post_logout_redirect_uri', 'text').execute();
  await db.schema.alterTable('apps').addColumn('backchannel_logout_uri', 'text').execute();

  const now = Date.now();
  for (const s of [
    { name: 'openid', description: 'Sign you in with your Clavis account' },
    { name: 'profile', description: 'See your name and when your profile last changed' },
    { name: 'email', description: 'See your email address and whether it is verified' },
  ])
    await anyDb
      .insertInto('scopes')
      .values({ ...s, restricted: 0, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: see up()
  await (db as Kysely<any>)
    .deleteFrom('scopes')
    .where('name', 'in', ['openid', 'profile', 'email'])
    .execute();
  for (const c of ['backchannel_logout_uri', 'post_logout_redirect_uri', 'id_token_signed_response_alg'])
    await db.schema.alterTable('apps').dropColumn(c).execute();
  await db.schema.alterTable('authorization_codes').dropColumn('nonce').execute();
  await db.schema.dropIndex('grants_sid_idx').execute();
  await db.schema.alterTable('grants').dropColumn('acr').execute();
  await db.schema.alterTable('grants').dropColumn('sid').execute();
  await db.schema.alterTable('users').dropColumn('updated_at').execute();
  await db.schema.alterTable('users').dropColumn('email_verified').execute();
}
