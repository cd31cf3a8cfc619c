import type { Actor, DomainContext } from './context.js';
import type { UserRole } from './users.js';

/**
 * Who a signed-in user is when they act: the one rule the hub and the management API share, so a
 * session user is the same {@link Actor} whichever surface they use.
 */

/**
 * The actor for a signed-in user: their tenant and role. Admins of the default (operator) tenant are
 * platform admins, who review public apps; `platformAdmin` can be narrowed by the caller (tokens need
 * `clavis:admin` for it).
 */
export function actorForUser(
  user: { id: string; tenant_id: string; role: string },
  tenantKind: string,
): Actor {
  return {
    id: `user:${user.id}`,
    tenantId: user.tenant_id,
    userId: user.id,
    role: user.role as UserRole,
    platformAdmin: user.role === 'admin' && tenantKind === 'default',
  };
}

/** The actor for a user whose row the caller already holds (a session's user), reading their tenant's kind. */
export async function actorForSessionUser(
  ctx: DomainContext,
  user: { id: string; tenant_id: string; role: string },
): Promise<Actor> {
  const tenant = await ctx.db
    .selectFrom('tenants')
    .select('kind')
    .where('id', '=', user.tenant_id)
    .executeTakeFirst();
  return actorForUser(user, tenant?.kind ?? '');
}

/**
 * The actor for the user an access token was issued to, or null when that user no longer exists or is
 * disabled (their tokens stop working at once).
 */
export async function actorForActiveUser(ctx: DomainContext, userId: string): Promise<Actor | null> {
  const user = await ctx.db
    .selectFrom('users')
    .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
    .select(['users.id', 'users.tenant_id', 'users.role', 'users.disabled_at', 'tenants.kind'])
    .where('users.id', '=', userId)
    .executeTakeFirst();
  if (!user || user.disabled_at !== null) return null;
  return actorForUser(user, user.kind);
}
