import { sql } from 'kysely';
import { randomToken } from '../crypto/random.js';
import { DEVICE_CODE_GRANT } from './app-fields.js';
import { CLIENT_ID_PATTERN, createApp } from './apps.js';
import type { DomainContext } from './context.js';
import { SYSTEM_ACTOR } from './context.js';
import { MANAGEMENT_SCOPES, seedScopes } from './scopes.js';
import { insertSecret } from './secrets.js';
import { insertTenant } from './tenants.js';
import { insertUser } from './users.js';

/** The client_id of the CLI's public client, created at first start. */
export const CLI_CLIENT_ID = 'clavis-cli';

export interface BootstrapResult {
  /** Set when this start created the default tenant. */
  createdTenant: boolean;
  adminEmail?: string;
  /** A generated admin password, to print once. */
  generatedPassword?: string;
  /** Set when this start created the bootstrap client. */
  createdClientId?: string;
}

/**
 * First-start setup: the scope catalogue, a default tenant with an admin user, and (when configured) the
 * bootstrap management client, as Keycloak's bootstrap admin client does. Idempotent; serialised across
 * nodes on PostgreSQL by an advisory lock.
 */
export async function bootstrap(ctx: DomainContext, kind: 'sqlite' | 'postgres'): Promise<BootstrapResult> {
  const result: BootstrapResult = { createdTenant: false };
  const cfg = ctx.config.bootstrap;
  if (cfg.clientId && !CLIENT_ID_PATTERN.test(cfg.clientId))
    throw new Error('CLAVIS_BOOTSTRAP_CLIENT_ID: use 3 to 128 letters, digits, ".", "_", "~" or "-".');
  if (cfg.clientId && !cfg.clientSecret)
    throw new Error('CLAVIS_BOOTSTRAP_CLIENT_SECRET: must be set together with CLAVIS_BOOTSTRAP_CLIENT_ID.');
  if (cfg.clientSecret && cfg.clientSecret.length < 16)
    throw new Error(
      'CLAVIS_BOOTSTRAP_CLIENT_SECRET: use at least 16 characters (32 random bytes recommended).',
    );
  await ctx.db.transaction().execute(async (trx) => {
    if (kind === 'postgres') await sql`select pg_advisory_xact_lock(74205211)`.execute(trx);
    const tx = { ...ctx, db: trx };
    await seedScopes(trx, ctx.now());
    let tenant = await trx.selectFrom('tenants').selectAll().where('kind', '=', 'default').executeTakeFirst();
    if (!tenant) {
      const t = await insertTenant(tx, trx, { name: 'Default', kind: 'default' });
      tenant = await trx.selectFrom('tenants').selectAll().where('id', '=', t.id).executeTakeFirstOrThrow();
      result.createdTenant = true;
      const email = cfg.adminEmail ?? 'admin@clavis.local';
      const password = cfg.adminPassword ?? randomToken(18);
      await insertUser(tx, trx, {
        tenantId: t.id,
        email,
        password,
        role: 'admin',
        displayName: 'Administrator',
      });
      result.adminEmail = email;
      if (!cfg.adminPassword) result.generatedPassword = password;
    }
    // The CLI's public client (`clavis login`): PKCE through a loopback redirect, any port (RFC 8252 §7.3).
    const cli = await trx
      .selectFrom('apps')
      .select('id')
      .where('client_id', '=', CLI_CLIENT_ID)
      .executeTakeFirst();
    if (!cli) {
      await createApp(
        tx,
        SYSTEM_ACTOR,
        {
          name: 'Clavis CLI',
          description:
            'The clavis command-line tool. It signs you in through your browser with PKCE, or with a code (clavis login --device).',
          visibility: 'public',
          client_type: 'public',
          callback_url: 'http://127.0.0.1/callback',
          scopes: [...MANAGEMENT_SCOPES],
          default_scopes: ['clavis:apps'],
          // `clavis login --device` on machines without a browser (RFC 8628).
          grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
        },
        { clientId: CLI_CLIENT_ID, status: 'approved', tenantId: tenant.id },
      );
    }
    if (cfg.clientId && cfg.clientSecret) {
      const existing = await trx
        .selectFrom('apps')
        .select('id')
        .where('client_id', '=', cfg.clientId)
        .executeTakeFirst();
      if (!existing) {
        const { app } = await createApp(
          tx,
          SYSTEM_ACTOR,
          {
            name: 'Bootstrap admin client',
            description:
              'Created at first start from CLAVIS_BOOTSTRAP_CLIENT_ID for scripting the management API.',
            visibility: 'private',
            client_type: 'confidential',
            callback_url: 'http://127.0.0.1/callback',
            scopes: [...MANAGEMENT_SCOPES],
          },
          { clientId: cfg.clientId, status: 'approved', withoutSecret: true, tenantId: tenant.id },
        );
        await insertSecret(
          tx,
          trx,
          SYSTEM_ACTOR,
          { id: app.id, tenant_id: tenant.id, client_id: app.client_id, name: app.name },
          {
            description: 'From CLAVIS_BOOTSTRAP_CLIENT_SECRET',
            never_expires: true,
            bypassPolicy: true,
            value: cfg.clientSecret,
          },
        );
        result.createdClientId = app.client_id;
      }
    }
  });
  return result;
}
