import type { Db } from '../db/database.js';
import type { AppPermissionTable } from '../db/schema.js';
import type { DomainContext } from './context.js';
import { joinScope, MANAGEMENT_SCOPES, splitScope } from './scopes.js';

/*
 * The storage of app permissions (`app_permissions`: which scopes an app holds for which API), below both
 * `apps.ts` and `app-permissions.ts`. For the two built-in APIs the `apps.scopes` column is kept as a mirror:
 * it holds the app's scopes on the built-in APIs, written here, in the same transaction as the permissions,
 * so the app object's `scopes` field keeps meaning what it always did.
 */

/** The built-in APIs' fixed object IDs (migration 0008 creates them). */
export const BUILT_IN_API_IDS = {
  management: '00000000-0000-4000-8000-00000000a001',
  sample: '00000000-0000-4000-8000-00000000a002',
} as const;

const MANAGEMENT = new Set<string>(MANAGEMENT_SCOPES);

/** Which built-in API a built-in scope belongs to: the management scopes, or the sample API's. */
export function builtInApiOf(scope: string): string {
  return MANAGEMENT.has(scope) ? BUILT_IN_API_IDS.management : BUILT_IN_API_IDS.sample;
}

/** Which scopes an app holds for one API: all it holds or asked for, and the granted ones. */
export interface HeldPermission {
  scopes: readonly string[];
  granted: readonly string[];
}

/** One permission as held, from its stored (space-separated) columns. */
export const toHeldPermission = (scopes: string, granted: string): HeldPermission => ({
  scopes: splitScope(scopes),
  granted: splitScope(granted),
});

/** An app's permissions by API id, as the token endpoint reads them. */
export async function heldPermissions(db: Db, appId: string): Promise<Map<string, HeldPermission>> {
  const rows = await permissionRows(db, appId);
  return new Map(rows.map((r) => [r.api_id, toHeldPermission(r.scopes, r.granted_scopes)]));
}

/** An app's permission rows, any API. */
export async function permissionRows(db: Db, appId: string): Promise<AppPermissionTable[]> {
  return db.selectFrom('app_permissions').selectAll().where('app_id', '=', appId).execute();
}

/**
 * Writes one permission: `scopes` held, `granted` the subset granted (an empty `scopes` deletes it).
 * `granter` is who granted what is newly granted (null: nothing new).
 */
export async function writePermission(
  ctx: Pick<DomainContext, 'now'>,
  db: Db,
  appId: string,
  apiId: string,
  scopes: string[],
  granted: string[],
  by: { requester: string; granter: string | null },
): Promise<void> {
  if (scopes.length === 0) {
    await db.deleteFrom('app_permissions').where('app_id', '=', appId).where('api_id', '=', apiId).execute();
    return;
  }
  const now = ctx.now();
  const grantedList = joinScope(scopes.filter((s) => granted.includes(s)));
  const existing = await db
    .selectFrom('app_permissions')
    .selectAll()
    .where('app_id', '=', appId)
    .where('api_id', '=', apiId)
    .executeTakeFirst();
  const grantChanged = !existing || existing.granted_scopes !== grantedList;
  const granting = by.granter !== null && grantChanged && grantedList.length > 0;
  if (!existing) {
    await db
      .insertInto('app_permissions')
      .values({
        app_id: appId,
        api_id: apiId,
        scopes: joinScope(scopes),
        granted_scopes: grantedList,
        requested_by: by.requester,
        granted_by: granting ? by.granter : null,
        granted_at: granting ? now : null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return;
  }
  await db
    .updateTable('app_permissions')
    .set({
      scopes: joinScope(scopes),
      granted_scopes: grantedList,
      updated_at: now,
      ...(granting ? { granted_by: by.granter, granted_at: now } : {}),
      ...(grantedList.length === 0 ? { granted_by: null, granted_at: null } : {}),
    })
    .where('app_id', '=', appId)
    .where('api_id', '=', apiId)
    .execute();
}

/**
 * Makes the built-in APIs' permissions say what a new `apps.scopes` value says (the app object's `scopes`
 * path, whose rules are apps.ts's: granted at once, as before APIs existed). Scopes still in the list keep
 * their state, so a scope asked for and still pending does not become granted by saving the app.
 */
export async function syncBuiltInPermissions(
  ctx: Pick<DomainContext, 'now'>,
  db: Db,
  appId: string,
  scopes: string[],
  actorId: string,
): Promise<void> {
  const rows = await permissionRows(db, appId);
  for (const apiId of Object.values(BUILT_IN_API_IDS)) {
    const row = rows.find((r) => r.api_id === apiId);
    const before = row ? splitScope(row.scopes) : [];
    const grantedBefore = row ? splitScope(row.granted_scopes) : [];
    const next = scopes.filter((s) => builtInApiOf(s) === apiId);
    const granted = next.filter((s) => !before.includes(s) || grantedBefore.includes(s));
    if (joinScope(next) === row?.scopes && joinScope(granted) === row?.granted_scopes) continue;
    await writePermission(ctx, db, appId, apiId, next, granted, {
      requester: row?.requested_by ?? actorId,
      granter: actorId,
    });
  }
}

/**
 * Writes `apps.scopes` (and keeps `default_scopes` within it) from the built-in APIs' permissions, after
 * the permissions API changed one. Scopes keep their order; new ones go last.
 */
export async function mirrorBuiltInScopes(db: Db, appId: string, now: number): Promise<void> {
  const app = await db
    .selectFrom('apps')
    .select(['scopes', 'default_scopes'])
    .where('id', '=', appId)
    .executeTakeFirstOrThrow();
  const rows = (await permissionRows(db, appId)).filter((r) =>
    (Object.values(BUILT_IN_API_IDS) as string[]).includes(r.api_id),
  );
  const held = new Set(rows.flatMap((r) => splitScope(r.scopes)));
  const before = splitScope(app.scopes);
  const scopes = [...before.filter((s) => held.has(s)), ...[...held].filter((s) => !before.includes(s))];
  let defaults = splitScope(app.default_scopes).filter((s) => held.has(s));
  if (defaults.length === 0) defaults = scopes;
  const values = { scopes: joinScope(scopes), default_scopes: joinScope(defaults) };
  if (values.scopes === app.scopes && values.default_scopes === app.default_scopes) return;
  await db
    .updateTable('apps')
    .set({ ...values, updated_at: now })
    .where('id', '=', appId)
    .execute();
}
