import { randomToken } from '../crypto/random.js';
import type { UserTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, forbidden, invalid, notFound } from './errors.js';
import { endUserSessions } from './oidc.js';
import { keysetPage, type Page, type PageRequest } from './pagination.js';
import { getTenant } from './tenants.js';
import { containsText } from './text-search.js';
import { checkRole, insertUser, toUser, type User, type UserRole } from './users.js';

/**
 * User administration within a tenant: list, create (or invite), change role, disable. Tenant admins
 * manage their own tenant; platform admins any tenant. Another tenant's users are "not found".
 */
function requireTenantAdmin(actor: Actor, tenantId: string): void {
  if (actor.platformAdmin) return;
  if (actor.tenantId !== tenantId) throw notFound('Tenant');
  if (actor.role !== 'admin') throw forbidden('Only tenant admins manage users.', 'user_admin_forbidden');
}

export async function listUsers(
  ctx: DomainContext,
  actor: Actor,
  filter: { tenantId?: string; role?: UserRole; q?: string } & PageRequest = {},
): Promise<Page<User>> {
  const tenantId = filter.tenantId ?? actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'Name the tenant.', 'tenant_required');
  requireTenantAdmin(actor, tenantId);
  let q = ctx.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
  if (filter.role) q = q.where('role', '=', filter.role);
  const text = filter.q;
  if (text)
    q = q.where((eb) =>
      eb.or([containsText(eb.ref('email'), text), containsText(eb.ref('display_name'), text)]),
    );
  return keysetPage(q, filter, toUser);
}

export async function getUserForAdmin(ctx: DomainContext, actor: Actor, id: string): Promise<User> {
  const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!actor.platformAdmin && row.tenant_id !== actor.tenantId)) throw notFound('User');
  requireTenantAdmin(actor, row.tenant_id);
  return toUser(row);
}

export interface CreateUserInput {
  tenantId?: string;
  email: string;
  displayName?: string;
  role: UserRole;
  /** Without a password, one is generated and returned once (an invitation to pass on). */
  password?: string;
}

/**
 * Creates a user in a tenant. Without a password this is an invitation: a random initial password is
 * generated and returned once, for the admin to hand over; it is stored only as a scrypt hash.
 */
export async function createUser(
  ctx: DomainContext,
  actor: Actor,
  input: CreateUserInput,
): Promise<{ user: User; initialPassword: string | null }> {
  const tenantId = input.tenantId ?? actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'Name the tenant.', 'tenant_required');
  requireTenantAdmin(actor, tenantId);
  await getTenant(ctx, tenantId);
  const initialPassword = input.password === undefined ? randomToken(15) : null;
  const user = await inTransaction(ctx.db, async (trx) => {
    const u = await insertUser(ctx, trx, {
      tenantId,
      email: input.email,
      displayName: input.displayName,
      role: input.role,
      password: input.password ?? initialPassword!,
    });
    await recordAudit(ctx, trx, {
      type: 'user.created',
      actor: actor.id,
      tenantId,
      data: { user_id: u.id, role: u.role, invited: initialPassword !== null },
    });
    return u;
  });
  return { user, initialPassword };
}

export interface UserPatch {
  role?: UserRole;
  displayName?: string;
  /** true disables the user (signed out everywhere, and they can no longer sign in); false enables them again. */
  disabled?: boolean;
}

/**
 * Changes a user's role, name or disabled state. A tenant always keeps one active admin, and admins cannot
 * disable or demote themselves (so nobody locks themselves out by mistake).
 */
export async function updateUser(
  ctx: DomainContext,
  actor: Actor,
  id: string,
  patch: UserPatch,
): Promise<User> {
  const user = await getUserForAdmin(ctx, actor, id);
  const values: Partial<Pick<UserTable, 'role' | 'display_name' | 'disabled_at' | 'updated_at'>> = {};
  if (patch.role !== undefined) values.role = checkRole(patch.role);
  if (patch.displayName !== undefined) {
    const n = patch.displayName.trim();
    if (!n || n.length > 100)
      throw invalid(
        'display_name',
        'A display name is required (100 characters at most).',
        'user_display_name_invalid',
      );
    values.display_name = n;
    // The OIDC `updated_at` claim: when the profile's claims last changed.
    if (n !== user.display_name) values.updated_at = ctx.now();
  }
  if (patch.disabled !== undefined)
    values.disabled_at = patch.disabled ? (user.disabled_at ?? ctx.now()) : null;
  const losesAdmin =
    user.role === 'admin' &&
    user.disabled_at === null &&
    ((values.role !== undefined && values.role !== 'admin') || patch.disabled === true);
  if (losesAdmin && actor.userId === user.id)
    throw conflict('You cannot demote or disable yourself; ask another admin.', 'user_self_demotion');
  await inTransaction(ctx.db, async (trx) => {
    if (losesAdmin) {
      const r = await trx
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', user.tenant_id)
        .where('role', '=', 'admin')
        .where('disabled_at', 'is', null)
        .where('id', '!=', user.id)
        .executeTakeFirstOrThrow();
      if (Number(r.n) === 0) throw conflict('A tenant needs at least one active admin.', 'tenant_last_admin');
    }
    if (Object.keys(values).length > 0)
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
    // Disabled: signed out of Clavis at once, and every app a session of theirs signed in to is told.
    const logouts =
      patch.disabled === true && user.disabled_at === null
        ? await endUserSessions({ ...ctx, db: trx }, id)
        : undefined;
    await recordAudit(ctx, trx, {
      type: 'user.updated',
      actor: actor.id,
      tenantId: user.tenant_id,
      data: {
        user_id: id,
        fields: Object.keys(patch),
        ...(values.role ? { role: values.role } : {}),
        ...(logouts !== undefined ? { sessions_revoked: true, backchannel_logouts: logouts } : {}),
      },
    });
  });
  return getUserForAdmin(ctx, actor, id);
}
