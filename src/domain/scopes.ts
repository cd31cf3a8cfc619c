import type { Db } from '../db/database.js';
import type { DomainContext } from './context.js';
import { invalid } from './errors.js';

/** Management scopes: only a platform administrator may grant them to an app. */
export const MANAGEMENT_SCOPES = ['clavis:apps', 'clavis:admin'] as const;

/** The catalogue a new server starts with: sample API scopes and the management scopes. */
export const SEED_SCOPES: ReadonlyArray<{ name: string; description: string; restricted: number }> = [
  { name: 'contacts:read', description: 'See your contacts', restricted: 0 },
  { name: 'contacts:write', description: 'Create, change and delete your contacts', restricted: 0 },
  { name: 'profile:read', description: 'See your name, email address and organisation', restricted: 0 },
  {
    name: 'clavis:apps',
    description: 'Manage apps and their client secrets through the Clavis API',
    restricted: 1,
  },
  {
    name: 'clavis:admin',
    description: 'Administer tenants, users and app approvals through the Clavis API',
    restricted: 1,
  },
];

export interface Scope {
  name: string;
  description: string;
  restricted: boolean;
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Splits a space-delimited scope string (RFC 6749 §3.3) into unique tokens, in order.
 *
 * @returns `null` when the string is syntactically invalid.
 */
export function parseScope(scope: string): string[] | null {
  const parts = scope.split(' ').filter((p) => p.length > 0);
  if (parts.some((p) => !SCOPE_TOKEN.test(p))) return null;
  return [...new Set(parts)];
}

/**
 * Joins scope tokens into the stored (and RFC 6749 §3.3 wire) form: single spaces. The inverse of
 * {@link splitScope}.
 */
export const joinScope = (scopes: readonly string[]): string => scopes.join(' ');

/**
 * Splits a scope string this server stored with {@link joinScope} (already validated, so no syntax checks;
 * for a client's `scope` parameter use {@link parseScope}). The empty string is no scope at all.
 */
export const splitScope = (stored: string): string[] => (stored ? stored.split(' ') : []);

/** The catalogue's description of each of `names` that exists, for showing to a user. */
export async function scopeDescriptions(
  ctx: DomainContext,
  names: readonly string[],
): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await ctx.db
    .selectFrom('scopes')
    .select(['name', 'description'])
    .where('name', 'in', [...names])
    .execute();
  return new Map(rows.map((r) => [r.name, r.description]));
}

/** Inserts the seed scopes that are missing. */
export async function seedScopes(db: Db, now: number): Promise<void> {
  for (const s of SEED_SCOPES) {
    await db
      .insertInto('scopes')
      .values({ ...s, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
}

/** The scope catalogue, sorted by name. */
export async function listScopes(ctx: DomainContext): Promise<Scope[]> {
  const rows = await ctx.db.selectFrom('scopes').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, description: r.description, restricted: r.restricted === 1 }));
}

/**
 * Validates a list of scopes an app asks to be allowed: each must exist in the catalogue, and restricted
 * (management) scopes need a platform administrator.
 */
export async function validateAppScopes(
  ctx: DomainContext,
  scopes: string[],
  options: { field: string; mayUseRestricted: boolean },
): Promise<string[]> {
  const unique = [...new Set(scopes)];
  if (unique.length === 0) return [];
  const rows = await ctx.db.selectFrom('scopes').selectAll().where('name', 'in', unique).execute();
  const known = new Map(rows.map((r) => [r.name, r]));
  for (const s of unique) {
    const row = known.get(s);
    if (!row)
      throw invalid(
        options.field,
        `Unknown scope "${s}". See the scope catalogue for the scopes you can use.`,
      );
    if (row.restricted === 1 && !options.mayUseRestricted)
      throw invalid(options.field, `The scope "${s}" can only be granted by a platform administrator.`);
  }
  return unique;
}
