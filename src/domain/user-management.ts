import { randomToken } from '../crypto/random.js';
import { inTransaction } from '../db/transaction.js';
import { decodeCursor, encodeCursor, recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, forbidden, invalid, notFound } from './errors.js';
import { getTenant } from './tenants.js';
import { insertUser, toUser, type User, type UserRole } from './users.js';

/**
 * User administration within a tenant: list, create (or invite), change role, disable. Tenant admins
 * manage their own tenant; platform admins any tenant. Another tenant's users are "not found".
 */
function requireTenantAdmin(actor: Actor, tenantId: string): void {
  if (actor.platformAdmin) return;
  if (actor.tenantId !== tenantId) throw notFound('Tenant');
  if (actor.role !== 'admin') throw forbidden('Only tenant admins manage users.');
}

const ROLES: readonly UserRole[] = ['admin', 'developer', 'user'];

export async function listUsers(
  ctx: DomainContext,
  actor: Actor,
  filter: { tenantId?: string; role?: UserRole; q?: string; limit?: number; cursor?: string } = {},
): Promise<{ items: User[]; next_cursor: string | null }> {
  const tenantId = filter.tenantId ?? actor.tenantId;
  if (!tenantId) throw invalid('tenant_id', 'Name the tenant.');
  requireTenantAdmin(actor, tenantId);
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  let q = ctx.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
  if (filter.role) q = q.where('role', '=', filter.role);
  if (filter.q) {
    const term = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or([eb('email', 'like', term), eb(eb.fn('lower', ['display_name']), 'like', eb.val(term))]),
    );
  }
  if (filter.cursor) {
    const [at, id] = decodeCursor(filter.cursor);
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toUser),
    next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
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
  if (!tenantId) throw invalid('tenant_id', 'Name the tenant.');
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
  /** true disables the user (they can no longer sign in); false enables them again. */
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
  const values: { role?: string; display_name?: string; disabled_at?: number | null } = {};
  if (patch.role !== undefined) {
    if (!ROLES.includes(patch.role)) throw invalid('role', 'Choose admin, developer or user.');
    values.role = patch.role;
  }
  if (patch.displayName !== undefined) {
    const n = patch.displayName.trim();
    if (!n || n.length > 100)
      throw invalid('display_name', 'A display name is required (100 characters at most).');
    values.display_name = n;
  }
  if (patch.disabled !== undefined)
    values.disabled_at = patch.disabled ? (user.disabled_at ?? ctx.now()) : null;
  const losesAdmin =
    user.role === 'admin' &&
    user.disabled_at === null &&
    ((values.role !== undefined && values.role !== 'admin') || patch.disabled === true);
  if (losesAdmin && actor.userId === user.id)
    throw conflict('You cannot demote or disable yourself; ask another admin.');
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
      if (Number(r.n) === 0) throw conflict('A tenant needs at least one active admin.');
    }
    if (Object.keys(values).length > 0)
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
    await recordAudit(ctx, trx, {
      type: 'user.updated',
      actor: actor.id,
      tenantId: user.tenant_id,
      data: { user_id: id, fields: Object.keys(patch), ...(values.role ? { role: values.role } : {}) },
    });
  });
  return getUserForAdmin(ctx, actor, id);
}
