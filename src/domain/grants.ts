import { inTransaction } from '../db/transaction.js';
import type { App } from './apps.js';
import type { DomainContext } from './context.js';
import { liveGrantIds, redeemedGrants, revokeGrant } from './grant-store.js';
import { queueAppRevocationLogout } from './oidc.js';
import { joinScope, splitScope } from './scopes.js';
import type { User } from './users.js';

/*
 * The rules about user grants (who may authorize an app, remembered consent) and a user's view of them.
 * The storage of grants, codes and refresh tokens is `grant-store.ts`; its liveness check and purge are
 * re-exported here for the wiring that installs the user-authorization feature.
 */
export { grantIsLive, purgeGrantData } from './grant-store.js';

/**
 * Who may authorize an app:
 * - a `private` app: only users of its own tenant;
 * - an `approved` `public` app: users of any tenant;
 * - a public app not yet approved (draft, in review, rejected): only its owners' tenant, for testing;
 * - a disabled app: nobody.
 *
 * @returns `null` when the user may authorize, else a sentence for the user.
 */
export function authorizationProblem(
  app: Pick<App, 'visibility' | 'status' | 'tenant_id'>,
  user: Pick<User, 'tenant_id' | 'disabled_at'>,
): string | null {
  if (user.disabled_at !== null) return 'Your account is disabled.';
  if (app.status === 'disabled') return 'This app has been disabled.';
  if (app.visibility === 'private') {
    return user.tenant_id === app.tenant_id
      ? null
      : 'This app is private to another organisation; only its own users can sign in to it.';
  }
  if (app.status === 'approved') return null;
  return user.tenant_id === app.tenant_id
    ? null
    : 'This app has not been approved yet; until it is, only users of the organisation that built it can use it.';
}

/**
 * Whether the user may still use the app a grant is for (exists, not disabled, still in a tenant allowed to
 * authorize it): checked again at every code redemption, device-code redemption and refresh. `user` is the
 * grant's user as the grant store read it, `undefined` when it no longer exists.
 */
export function userMayStillUse(
  app: App,
  user: Pick<User, 'tenant_id' | 'disabled_at'> | undefined,
): boolean {
  return !!user && authorizationProblem(app, user) === null;
}

/** Whether the user exists and is not disabled. */
export function userIsActive(user: Pick<User, 'disabled_at'> | undefined): boolean {
  return !!user && user.disabled_at === null;
}

// ---- Consents ------------------------------------------------------------------------------------------

/** The scopes the user agreed to for this app, or `null` when they never consented (or revoked it). */
export async function consentedScopes(
  ctx: DomainContext,
  userId: string,
  appId: string,
): Promise<string[] | null> {
  const row = await ctx.db
    .selectFrom('consents')
    .select('scope')
    .where('user_id', '=', userId)
    .where('app_id', '=', appId)
    .executeTakeFirst();
  return row ? splitScope(row.scope) : null;
}

/**
 * Whether a remembered consent covers every requested scope. No consent covers nothing, not even a request
 * for no scope at all: the user has to have agreed to this app once.
 */
export function consentCovers(consented: string[] | null, requested: string[]): boolean {
  if (consented === null) return false;
  const set = new Set(consented);
  return requested.every((s) => set.has(s));
}

/** Remembers that the user agreed to `scopes` for this app (adding to what they agreed to before). */
export async function rememberConsent(
  ctx: DomainContext,
  userId: string,
  appId: string,
  scopes: string[],
): Promise<void> {
  const now = ctx.now();
  await inTransaction(ctx.db, async (trx) => {
    const row = await trx
      .selectFrom('consents')
      .select('scope')
      .where('user_id', '=', userId)
      .where('app_id', '=', appId)
      .executeTakeFirst();
    if (!row) {
      await trx
        .insertInto('consents')
        .values({
          user_id: userId,
          app_id: appId,
          scope: joinScope(scopes),
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['user_id', 'app_id']).doUpdateSet({ scope: joinScope(scopes), updated_at: now }),
        )
        .execute();
      return;
    }
    const merged = [...new Set([...splitScope(row.scope), ...scopes])];
    await trx
      .updateTable('consents')
      .set({ scope: joinScope(merged), updated_at: now })
      .where('user_id', '=', userId)
      .where('app_id', '=', appId)
      .execute();
  });
}

// ---- A user's view ----------------------------------------------------------------------------------------

export interface ConnectedApp {
  app_id: string;
  app_name: string;
  tenant_name: string;
  scopes: string[];
  /** When the user first authorized the app (of the consent and grants still standing). */
  authorized_at: number;
  last_authorized_at: number;
}

/** The apps a user consented to (remembered consents of apps that still exist), with the names shown. */
async function consentedApps(ctx: DomainContext, userId: string) {
  return ctx.db
    .selectFrom('consents')
    .innerJoin('apps', 'apps.id', 'consents.app_id')
    .innerJoin('tenants', 'tenants.id', 'apps.tenant_id')
    .select([
      'consents.app_id',
      'consents.scope',
      'consents.created_at',
      'consents.updated_at',
      'apps.name as app_name',
      'tenants.name as tenant_name',
    ])
    .where('consents.user_id', '=', userId)
    .where('apps.deleted_at', 'is', null)
    .execute();
}

/**
 * The apps a user has authorized, one entry per app: every remembered consent (listed from the moment the
 * user clicks Allow, before the app redeems a code) and every live, redeemed grant.
 */
export async function listConnectedApps(ctx: DomainContext, userId: string): Promise<ConnectedApp[]> {
  const byApp = new Map<string, ConnectedApp>();
  const add = (
    appId: string,
    appName: string,
    tenantName: string,
    scopes: string[],
    first: number,
    last: number,
  ) => {
    const existing = byApp.get(appId);
    if (!existing) {
      byApp.set(appId, {
        app_id: appId,
        app_name: appName,
        tenant_name: tenantName,
        scopes,
        authorized_at: first,
        last_authorized_at: last,
      });
      return;
    }
    existing.scopes = [...new Set([...existing.scopes, ...scopes])];
    existing.authorized_at = Math.min(existing.authorized_at, first);
    existing.last_authorized_at = Math.max(existing.last_authorized_at, last);
  };
  for (const c of await consentedApps(ctx, userId))
    add(c.app_id, c.app_name, c.tenant_name, splitScope(c.scope), c.created_at, c.updated_at);
  for (const g of await redeemedGrants(ctx, userId))
    add(g.appId, g.appName, g.tenantName, g.scope, g.createdAt, g.createdAt);
  return [...byApp.values()].sort((a, b) => b.last_authorized_at - a.last_authorized_at);
}

/**
 * A user takes back an app's access: every grant of theirs for the app is revoked (refresh tokens end, access
 * tokens become inactive) and the remembered consent is forgotten, so the next request asks again. In the
 * same transaction a back-channel logout is queued for each session in which the user signed in to the app
 * (OIDC Back-Channel Logout 1.0), read before the grants that name the sessions are revoked.
 *
 * @returns how many grants were revoked.
 */
export async function revokeAppAccess(ctx: DomainContext, userId: string, appId: string): Promise<number> {
  return inTransaction(ctx.db, async (trx) => {
    const tx: DomainContext = { ...ctx, db: trx };
    await queueAppRevocationLogout(tx, userId, appId);
    const grants = await liveGrantIds(tx, userId, appId);
    for (const id of grants) await revokeGrant(tx, id, 'user_revoked', `user:${userId}`);
    await trx.deleteFrom('consents').where('user_id', '=', userId).where('app_id', '=', appId).execute();
    return grants.length;
  });
}
