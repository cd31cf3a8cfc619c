import type { Kysely } from 'kysely';

/** The built-in sample API's fixed object ID (0008 creates it; the domain's `BUILT_IN_API_IDS.sample`). */
const SAMPLE_ID = '00000000-0000-4000-8000-00000000a002';

/** The OIDC standard scopes, as this migration adds them (a migration keeps its own copy). */
const OIDC_SCOPES = [
  { name: 'openid', description: 'Sign you in with your Clavis account' },
  { name: 'profile', description: 'See your name and when your profile last changed' },
  { name: 'email', description: 'See your email address and whether it is verified' },
];
const OIDC_NAMES = OIDC_SCOPES.map((s) => s.name);

/** Rewrites the sample API's scope list (JSON) with `change`. */
// biome-ignore lint/suspicious/noExplicitAny: the migration runs before the typed schema knows the tables
async function editSampleScopes(db: Kysely<any>, change: (scopes: Array<{ name: string }>) => unknown[]) {
  const row = await db.selectFrom('apis').select('scopes').where('id', '=', SAMPLE_ID).executeTakeFirst();
  if (!row) return;
  await db
    .updateTable('apis')
    .set({ scopes: JSON.stringify(change(JSON.parse(row.scopes))) })
    .where('id', '=', SAMPLE_ID)
    .execute();
}

/**
 * OpenID Connect: the data an ID token, UserInfo and logout need.
 *
 * - `users.updated_at` (epoch ms; existing rows take their `created_at`) for the `profile` claims. The
 *   `email_verified` claim reads `users.email_verified_at` (0011, sign-up's address check): one home.
 * - `grants.sid` (the session the grant came from, for `sid` and back-channel logout) and `grants.acr`
 *   (the `acr` to repeat in ID tokens when the request asked for one).
 * - `authorization_codes.nonce`: the request's `nonce`, echoed in the code's ID token only.
 * - `apps.id_token_signed_response_alg`, `apps.post_logout_redirect_uri`, `apps.backchannel_logout_uri`.
 * - The OIDC standard scopes `openid`, `profile` and `email` in the catalogue and in the built-in sample
 *   API's scopes (no admin consent), so an app holds them like any scope of the default API and a token
 *   for that API carries them to UserInfo. Existing apps keep exactly the scopes they had.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
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
  for (const s of OIDC_SCOPES)
    await anyDb
      .insertInto('scopes')
      .values({ ...s, restricted: 0, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  await editSampleScopes(anyDb, (scopes) => [
    ...scopes,
    ...OIDC_SCOPES.filter((o) => !scopes.some((s) => s.name === o.name)).map((o) => ({
      ...o,
      admin_consent_required: false,
    })),
  ]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: see up()
  const anyDb = db as Kysely<any>;
  await editSampleScopes(anyDb, (scopes) => scopes.filter((s) => !OIDC_NAMES.includes(s.name)));
  await anyDb.deleteFrom('scopes').where('name', 'in', OIDC_NAMES).execute();
  for (const c of ['backchannel_logout_uri', 'post_logout_redirect_uri', 'id_token_signed_response_alg'])
    await db.schema.alterTable('apps').dropColumn(c).execute();
  await db.schema.alterTable('authorization_codes').dropColumn('nonce').execute();
  await db.schema.dropIndex('grants_sid_idx').execute();
  await db.schema.alterTable('grants').dropColumn('acr').execute();
  await db.schema.alterTable('grants').dropColumn('sid').execute();
  await db.schema.alterTable('users').dropColumn('updated_at').execute();
}
