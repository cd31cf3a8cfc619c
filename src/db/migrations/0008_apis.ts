import type { Kysely } from 'kysely';

/** The built-in APIs' fixed object IDs (the domain's `BUILT_IN_API_IDS` names the same). */
const MANAGEMENT_ID = '00000000-0000-4000-8000-00000000a001';
const SAMPLE_ID = '00000000-0000-4000-8000-00000000a002';

/**
 * The built-in APIs' scopes as the fixed catalogue (`SEED_SCOPES`) held them when this migration was
 * written: a migration keeps its own copy, so it means the same whatever the code later says.
 */
const MANAGEMENT_SCOPES = [
  {
    name: 'clavis:apps',
    description: 'Manage apps and their client secrets through the Clavis API',
    admin_consent_required: true,
  },
  {
    name: 'clavis:admin',
    description: 'Administer tenants, users and app approvals through the Clavis API',
    admin_consent_required: true,
  },
];
const SAMPLE_SCOPES = [
  { name: 'contacts:read', description: 'See your contacts', admin_consent_required: false },
  {
    name: 'contacts:write',
    description: 'Create, change and delete your contacts',
    admin_consent_required: false,
  },
  {
    name: 'profile:read',
    description: 'See your name, email address and organisation',
    admin_consent_required: false,
  },
];

interface Tables {
  apis: {
    id: string;
    tenant_id: string | null;
    identifier: string;
    name: string;
    description: string;
    scopes: string;
    access_token_ttl: number | null;
    allow_client_credentials: number;
    visibility: string;
    resource_server_app_ids: string;
    built_in: string | null;
    created_at: number;
    updated_at: number;
  };
  app_permissions: {
    app_id: string;
    api_id: string;
    scopes: string;
    granted_scopes: string;
    requested_by: string;
    granted_by: string | null;
    granted_at: number | null;
    created_at: number;
    updated_at: number;
  };
  apps: { id: string; scopes: string; created_at: number; deleted_at: number | null };
}

/**
 * APIs (resource servers) and app permissions (which scopes an app holds for which API).
 *
 * The server's own two APIs become rows: the management API and the sample API. Their identifiers depend
 * on configuration (`CLAVIS_API_AUDIENCE`, the issuer), so the rows hold a placeholder URN and the domain
 * resolves it when it reads them. Every existing app's `scopes` become granted permissions on them, so
 * existing apps keep exactly the scopes they had. `apis.access_token_ttl` is null for "the server's
 * default" (`CLAVIS_ACCESS_TOKEN_TTL`). `grants.api_id` records the API a user grant is for.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apis')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id'))
    .addColumn('identifier', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('access_token_ttl', 'integer')
    .addColumn('allow_client_credentials', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('visibility', 'text', (c) => c.notNull())
    .addColumn('resource_server_app_ids', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('built_in', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('apis_tenant_idx').on('apis').column('tenant_id').execute();

  await db.schema
    .createTable('app_permissions')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('api_id', 'text', (c) => c.notNull().references('apis.id'))
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('granted_scopes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('granted_by', 'text')
    .addColumn('granted_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_permissions_pk', ['app_id', 'api_id'])
    .execute();
  await db.schema.createIndex('app_permissions_api_idx').on('app_permissions').column('api_id').execute();
  // The API a user grant is for (RFC 8707 `resource` on the authorization request); null: the built-in
  // sample API, the audience of every grant made before APIs existed.
  await db.schema.alterTable('grants').addColumn('api_id', 'text').execute();

  const k = db as unknown as Kysely<Tables>;
  const now = Date.now();
  const builtIn = (id: string, kind: string, name: string, description: string, scopes: unknown) => ({
    id,
    tenant_id: null,
    identifier: `urn:clavis:api:${kind}`,
    name,
    description,
    scopes: JSON.stringify(scopes),
    access_token_ttl: null,
    allow_client_credentials: 1,
    visibility: 'public',
    resource_server_app_ids: '',
    built_in: kind,
    created_at: now,
    updated_at: now,
  });
  await k
    .insertInto('apis')
    .values([
      builtIn(
        MANAGEMENT_ID,
        'management',
        'Clavis management API',
        'Manage apps, secrets, tenants and users of this server. Only platform administrators grant its scopes.',
        MANAGEMENT_SCOPES,
      ),
      builtIn(
        SAMPLE_ID,
        'sample',
        'Clavis sample API',
        'The sample contacts and profile API this server serves itself.',
        SAMPLE_SCOPES,
      ),
    ])
    .execute();

  const management = new Set(MANAGEMENT_SCOPES.map((s) => s.name));
  const apps = await k.selectFrom('apps').select(['id', 'scopes', 'created_at', 'deleted_at']).execute();
  for (const app of apps) {
    if (app.deleted_at !== null) continue;
    const scopes = app.scopes.split(' ').filter((s) => s.length > 0);
    for (const [apiId, held] of [
      [MANAGEMENT_ID, scopes.filter((s) => management.has(s))],
      [SAMPLE_ID, scopes.filter((s) => !management.has(s))],
    ] as const) {
      if (held.length === 0) continue;
      const list = held.join(' ');
      await k
        .insertInto('app_permissions')
        .values({
          app_id: app.id,
          api_id: apiId,
          scopes: list,
          granted_scopes: list,
          requested_by: 'system',
          granted_by: 'system',
          granted_at: now,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('api_id').execute();
  await db.schema.dropTable('app_permissions').execute();
  await db.schema.dropTable('apis').execute();
}
