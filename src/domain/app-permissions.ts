import type { AppPermissionTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { type Api, apiVisibleToTenant, getApi, toApi } from './apis.js';
import {
  BUILT_IN_API_IDS,
  builtInApiOf,
  mirrorBuiltInScopes,
  permissionRows,
  writePermission,
} from './app-permission-store.js';
import { type App, getAppForActor, updateApp } from './apps.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { DomainError, forbidden, invalid, notFound } from './errors.js';
import { splitScope } from './scopes.js';

/**
 * App permissions (Entra's "API permissions"): the one home of which scopes an app holds for which API.
 * A permission is `granted` when a tenant admin granted every scope in it, else `pending`. The token
 * endpoint's rules: client_credentials uses only granted scopes; in the authorization code flow users may
 * consent to a pending permission's scopes except those whose API marks them `admin_consent_required`.
 *
 * The built-in APIs keep the rules their scopes had before APIs existed (the app's `scopes` field: granted
 * at once, management scopes only by platform admins, changes of reviewed public apps held for review), so
 * a permission for them is written through `updateApp`.
 */
export interface AppPermission {
  api_id: string;
  identifier: string;
  api_name: string;
  /** Every scope the app holds or asked for. */
  scopes: string[];
  /** The scopes a tenant admin granted (all of `scopes` when `granted`). */
  granted_scopes: string[];
  status: 'granted' | 'pending';
  granted_at: number | null;
}

function toPermission(row: AppPermissionTable, api: Api): AppPermission {
  const scopes = splitScope(row.scopes);
  const granted = splitScope(row.granted_scopes);
  return {
    api_id: api.id,
    identifier: api.identifier,
    api_name: api.name,
    scopes,
    granted_scopes: granted,
    status: scopes.every((s) => granted.includes(s)) ? 'granted' : 'pending',
    granted_at: row.granted_at,
  };
}

const isBuiltIn = (apiId: string) => (Object.values(BUILT_IN_API_IDS) as string[]).includes(apiId);

/** Whether the actor grants for apps of `tenantId`: its admins and platform admins. */
function isTenantAdmin(actor: Actor, tenantId: string): boolean {
  return !!actor.platformAdmin || (actor.role === 'admin' && actor.tenantId === tenantId);
}

/** An app's permissions, one per API, in API order (built-ins first). */
export async function listAppPermissions(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
): Promise<AppPermission[]> {
  const app = await getAppForActor(ctx, actor, appId);
  const rows = await ctx.db
    .selectFrom('app_permissions')
    .innerJoin('apis', 'apis.id', 'app_permissions.api_id')
    .selectAll('apis')
    .select([
      'app_permissions.app_id',
      'app_permissions.api_id',
      'app_permissions.scopes as p_scopes',
      'app_permissions.granted_scopes',
      'app_permissions.requested_by',
      'app_permissions.granted_by',
      'app_permissions.granted_at',
      'app_permissions.created_at as p_created_at',
      'app_permissions.updated_at as p_updated_at',
    ])
    .where('app_permissions.app_id', '=', app.id)
    .orderBy('apis.created_at')
    .orderBy('apis.id')
    .execute();
  return rows
    .map((r) =>
      toPermission(
        {
          app_id: r.app_id,
          api_id: r.api_id,
          scopes: r.p_scopes,
          granted_scopes: r.granted_scopes,
          requested_by: r.requested_by,
          granted_by: r.granted_by,
          granted_at: r.granted_at,
          created_at: r.p_created_at,
          updated_at: r.p_updated_at,
        },
        toApi(r, ctx.config),
      ),
    )
    .sort((a, b) => Number(!isBuiltIn(a.api_id)) - Number(!isBuiltIn(b.api_id)));
}

/** The API a permission of `app` may name. @throws DomainError `app_permission_api_invalid` (400). */
async function apiForApp(ctx: DomainContext, actor: Actor, app: App, apiId: string): Promise<Api> {
  let api: Api;
  try {
    api = await getApi(ctx, actor, apiId);
  } catch (err) {
    if (err instanceof DomainError && err.code === 'not_found')
      throw invalid('api_id', 'No API with that ID is visible to you.', 'app_permission_api_invalid');
    throw err;
  }
  if (!apiVisibleToTenant(api, app.tenant_id))
    throw invalid(
      'api_id',
      `The API "${api.name}" belongs to another tenant and is not public, so this app may not use it.`,
      'app_permission_api_invalid',
    );
  return api;
}

async function readPermission(ctx: DomainContext, appId: string, api: Api): Promise<AppPermission | null> {
  const row = (await permissionRows(ctx.db, appId)).find((r) => r.api_id === api.id);
  return row ? toPermission(row, api) : null;
}

/**
 * Sets the scopes an app holds for an API (the list replaces the previous one). Asked by a tenant admin (or
 * a platform admin) the permission is granted at once; asked by the app's developer the new scopes are
 * `pending` until an admin grants them, and scopes already granted stay granted. On a built-in API the
 * app's `scopes` rules apply (see the module comment). Records `app_permission.requested` (and
 * `app_permission.granted` when granted at once).
 *
 * @throws DomainError `app_permission_api_invalid` (field `api_id`), `app_permission_scope_invalid` (field
 * `scopes`), `app_not_found`.
 */
export async function requestAppPermission(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
  apiId: string,
  scopes: string[],
): Promise<AppPermission> {
  const app = await getAppForActor(ctx, actor, appId);
  const api = await apiForApp(ctx, actor, app, apiId);
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string'))
    throw invalid('scopes', 'scopes must be a list of scope names.', 'app_permission_scope_invalid');
  const wanted = [...new Set(scopes)];
  if (wanted.length === 0)
    throw invalid(
      'scopes',
      'Name at least one scope (to remove the permission, delete it).',
      'app_permission_scope_invalid',
    );
  const known = new Set(api.scopes.map((s) => s.name));
  const unknown = wanted.filter((s) => !known.has(s));
  if (unknown.length)
    throw invalid(
      'scopes',
      `The API "${api.name}" has no scope ${unknown.map((s) => `"${s}"`).join(', ')}.`,
      'app_permission_scope_invalid',
    );
  if (api.built_in) {
    // The app's `scopes` field is the built-in APIs' home of rules: restricted scopes, review of public apps.
    const others = app.scopes.filter((s) => builtInApiOf(s) !== api.id);
    await updateApp(ctx, actor, app.id, { scopes: [...others, ...wanted] });
    return (await readPermission(ctx, app.id, api)) ?? toPermission(emptyRow(app.id, api.id), api);
  }
  const admin = isTenantAdmin(actor, app.tenant_id);
  const previous = await readPermission(ctx, app.id, api);
  const granted = admin ? wanted : (previous?.granted_scopes ?? []).filter((s) => wanted.includes(s));
  const same =
    previous !== null &&
    previous.scopes.length === wanted.length &&
    wanted.every((s) => previous.scopes.includes(s)) &&
    granted.length === previous.granted_scopes.length;
  if (same) return previous;
  await inTransaction(ctx.db, async (trx) => {
    await writePermission(ctx, trx, app.id, api.id, wanted, granted, {
      requester: actor.id,
      granter: admin ? actor.id : null,
    });
    await ctx.changes.announce(trx, 'client', app.client_id);
    const audit = { actor: actor.id, tenantId: app.tenant_id, appId: app.id };
    await recordAudit(ctx, trx, {
      ...audit,
      type: 'app_permission.requested',
      data: { api_id: api.id, identifier: api.identifier, scopes: wanted, previous: previous?.scopes ?? [] },
    });
    if (admin)
      await recordAudit(ctx, trx, {
        ...audit,
        type: 'app_permission.granted',
        data: { api_id: api.id, identifier: api.identifier, scopes: wanted },
      });
  });
  await ctx.changes.publish('client', app.client_id);
  return (await readPermission(ctx, app.id, api)) as AppPermission;
}

function emptyRow(appId: string, apiId: string): AppPermissionTable {
  return {
    app_id: appId,
    api_id: apiId,
    scopes: '',
    granted_scopes: '',
    requested_by: '',
    granted_by: null,
    granted_at: null,
    created_at: 0,
    updated_at: 0,
  };
}

/**
 * Grants every scope of an app's permission (Entra's "Grant admin consent"): tenant admins of the app's
 * tenant, and platform admins (the only ones who grant the management API). Records
 * `app_permission.granted`; a permission already granted is returned unchanged.
 *
 * @throws DomainError `app_permission_grant_forbidden` (403), `app_permission_not_found` (404).
 */
export async function grantAppPermission(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
  apiId: string,
): Promise<AppPermission> {
  const app = await getAppForActor(ctx, actor, appId);
  const api = await apiForApp(ctx, actor, app, apiId);
  if (!isTenantAdmin(actor, app.tenant_id) || (api.built_in === 'management' && !actor.platformAdmin))
    throw forbidden(
      api.built_in === 'management'
        ? 'Only platform administrators grant the management API.'
        : "Only admins of the app's tenant grant permissions.",
      'app_permission_grant_forbidden',
    );
  const previous = await readPermission(ctx, app.id, api);
  if (!previous) throw notFound('App permission');
  if (previous.status === 'granted') return previous;
  await inTransaction(ctx.db, async (trx) => {
    await writePermission(ctx, trx, app.id, api.id, previous.scopes, previous.scopes, {
      requester: actor.id,
      granter: actor.id,
    });
    await ctx.changes.announce(trx, 'client', app.client_id);
    await recordAudit(ctx, trx, {
      type: 'app_permission.granted',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      data: {
        api_id: api.id,
        identifier: api.identifier,
        scopes: previous.scopes.filter((s) => !previous.granted_scopes.includes(s)),
      },
    });
    if (api.built_in) await mirrorBuiltInScopes(trx, app.id, ctx.now());
  });
  await ctx.changes.publish('client', app.client_id);
  return (await readPermission(ctx, app.id, api)) as AppPermission;
}

/**
 * Removes an app's permission for an API: its tokens for that API are refused from the next request on,
 * on every node. On a built-in API this takes the API's scopes out of the app's `scopes` (a developer
 * cannot take management scopes a platform admin granted, as before). Records `app_permission.removed`.
 *
 * @throws DomainError `app_permission_not_found` (404).
 */
export async function removeAppPermission(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
  apiId: string,
): Promise<void> {
  const app = await getAppForActor(ctx, actor, appId);
  const api = await apiForApp(ctx, actor, app, apiId);
  const previous = await readPermission(ctx, app.id, api);
  if (!previous) throw notFound('App permission');
  if (api.built_in) {
    await updateApp(ctx, actor, app.id, { scopes: app.scopes.filter((s) => builtInApiOf(s) !== api.id) });
    return;
  }
  await inTransaction(ctx.db, async (trx) => {
    await writePermission(ctx, trx, app.id, api.id, [], [], { requester: actor.id, granter: null });
    await ctx.changes.announce(trx, 'client', app.client_id);
    await recordAudit(ctx, trx, {
      type: 'app_permission.removed',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      data: { api_id: api.id, identifier: api.identifier, scopes: previous.scopes },
    });
  });
  await ctx.changes.publish('client', app.client_id);
}
