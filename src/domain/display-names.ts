import type { DomainContext } from './context.js';

/**
 * Names to show for ids that pages list (an app's tenant, its owner, the actor of an audit event). Only
 * reads, and only for ids the caller already obtained through an authorized domain function.
 */

/** Email address by user id, for the given ids (deleted users are absent). */
export async function userEmails(ctx: DomainContext, ids: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await ctx.db.selectFrom('users').select(['id', 'email']).where('id', 'in', unique).execute();
  return new Map(rows.map((r) => [r.id, r.email]));
}

/** Tenant name by tenant id, for the given ids. */
export async function tenantNames(ctx: DomainContext, ids: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await ctx.db.selectFrom('tenants').select(['id', 'name']).where('id', 'in', unique).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}
