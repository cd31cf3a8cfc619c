import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { ExpiryNoticeRecipients, LeakedSecretPolicy, TenantKind, TenantTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { forbidden, invalid, notFound } from './errors.js';
import { checkExpiryRecipients } from './expiry-notices.js';

export interface Tenant {
  id: string;
  name: string;
  kind: TenantKind;
  settings: TenantSettings;
  created_at: number;
}

export interface TenantSettings {
  /** When false, only admins register apps; developers file app requests. */
  users_can_register_apps: boolean;
  /** The longest lifetime a client secret may have. */
  secret_max_lifetime_days: number;
  /** Whether client secrets may be created without an expiry. */
  secret_allow_never_expire: boolean;
  /**
   * What a report of a leaked live secret does (public report or GitHub secret scanning): `revoke` it at
   * once (the default), or `notify` the app's owner and the admins only.
   */
  leaked_secret_policy: LeakedSecretPolicy;
  /** Who is mailed secret expiry notices: the app's owner and/or the tenant's admins, or nobody. */
  expiry_notice_recipients: ExpiryNoticeRecipients;
}

/** The values of {@link TenantSettings.leaked_secret_policy}. */
export const LEAKED_SECRET_POLICIES: readonly LeakedSecretPolicy[] = ['revoke', 'notify'];

export function toTenant(row: TenantTable): Tenant {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    created_at: row.created_at,
    settings: {
      users_can_register_apps: row.allow_app_registration === 1,
      secret_max_lifetime_days: row.secret_max_lifetime_days,
      secret_allow_never_expire: row.secret_allow_never_expire === 1,
      leaked_secret_policy: row.leaked_secret_policy === 'notify' ? 'notify' : 'revoke',
      expiry_notice_recipients: row.expiry_notice_recipients,
    },
  };
}

/** Inserts a tenant (inside the caller's transaction when `db` is one). */
export async function insertTenant(
  ctx: DomainContext,
  db: Db,
  input: { name: string; kind: TenantKind },
): Promise<Tenant> {
  const name = input.name.trim();
  if (!name || name.length > 100)
    throw invalid('name', 'A tenant name is required (100 characters at most).');
  const row: TenantTable = {
    id: uuid(),
    name,
    kind: input.kind,
    allow_app_registration: 1,
    secret_max_lifetime_days: 730,
    secret_allow_never_expire: 0,
    leaked_secret_policy: 'revoke',
    expiry_notice_recipients: 'owner_and_admins',
    created_at: ctx.now(),
  };
  await db.insertInto('tenants').values(row).execute();
  return toTenant(row);
}

export async function getTenant(ctx: DomainContext, id: string, db: Db = ctx.db): Promise<Tenant> {
  const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('Tenant');
  return toTenant(row);
}

/** Changes a tenant's settings. Only that tenant's admins (or a platform admin) may. */
export async function updateTenantSettings(
  ctx: DomainContext,
  actor: Actor,
  tenantId: string,
  patch: Partial<TenantSettings> & { name?: string },
): Promise<Tenant> {
  if (!actor.platformAdmin && (actor.tenantId !== tenantId || actor.role !== 'admin'))
    throw actor.tenantId === tenantId
      ? forbidden('Only tenant admins can change tenant settings.')
      : notFound('Tenant');
  const values: Partial<TenantTable> = {};
  if (patch.name !== undefined) {
    const name = patch.name.trim();
    if (!name || name.length > 100)
      throw invalid('name', 'A tenant name is required (100 characters at most).');
    values.name = name;
  }
  if (patch.users_can_register_apps !== undefined)
    values.allow_app_registration = patch.users_can_register_apps ? 1 : 0;
  if (patch.secret_max_lifetime_days !== undefined) {
    const d = patch.secret_max_lifetime_days;
    if (!Number.isInteger(d) || d < 1 || d > 3650)
      throw invalid(
        'secret_max_lifetime_days',
        'The maximum secret lifetime must be between 1 and 3650 days.',
      );
    values.secret_max_lifetime_days = d;
  }
  if (patch.secret_allow_never_expire !== undefined)
    values.secret_allow_never_expire = patch.secret_allow_never_expire ? 1 : 0;
  if (patch.leaked_secret_policy !== undefined) {
    if (!LEAKED_SECRET_POLICIES.includes(patch.leaked_secret_policy))
      throw invalid('leaked_secret_policy', 'Choose "revoke" (at once) or "notify" (only tell the owners).');
    values.leaked_secret_policy = patch.leaked_secret_policy;
  }
  if (patch.expiry_notice_recipients !== undefined)
    values.expiry_notice_recipients = checkExpiryRecipients(patch.expiry_notice_recipients);
  // An empty patch changes nothing (as a JSON merge patch `{}` would, RFC 7396): answer the current
  // settings rather than run an UPDATE with no columns, and record no audit event for it.
  if (Object.keys(values).length === 0) return getTenant(ctx, tenantId);
  await inTransaction(ctx.db, async (trx) => {
    const res = await trx.updateTable('tenants').set(values).where('id', '=', tenantId).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw notFound('Tenant');
    await recordAudit(ctx, trx, {
      type: 'tenant.updated',
      actor: actor.id,
      tenantId,
      data: { fields: Object.keys(patch) },
    });
  });
  return getTenant(ctx, tenantId);
}
