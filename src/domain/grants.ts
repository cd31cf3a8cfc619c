import { randomToken, uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { GrantTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { App } from './apps.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import type { User } from './users.js';

/** Authorization codes live at most this long (RFC 9700 §4.1: short-lived; OAuth 2.1: ≤ 10 min). */
export const CODE_TTL_MS = 60_000;

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

export const joinScope = (s: string[]) => s.join(' ');
export const splitScope = (s: string) => (s ? s.split(' ') : []);

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

// ---- Grants and codes -------------------------------------------------------------------------------------

export interface NewCode {
  app: App;
  user: User;
  scope: string[];
  redirectUri: string;
  codeChallenge: string | null;
  /** When the user signed in (epoch ms). */
  authTime: number;
}

/**
 * Issues an authorization code: a new grant (not yet redeemed) and the code bound to client, redirect_uri
 * and PKCE challenge. The code has 256 random bits and is stored only as a keyed hash.
 */
export async function createAuthorizationCode(ctx: DomainContext, input: NewCode): Promise<string> {
  const code = randomToken(32);
  const now = ctx.now();
  const grantId = uuid();
  await inTransaction(ctx.db, async (trx) => {
    await trx
      .insertInto('grants')
      .values({
        id: grantId,
        user_id: input.user.id,
        app_id: input.app.id,
        client_id: input.app.client_id,
        tenant_id: input.user.tenant_id,
        scope: joinScope(input.scope),
        auth_time: input.authTime,
        created_at: now,
        redeemed_at: null,
        revoked_at: null,
      })
      .execute();
    await trx
      .insertInto('authorization_codes')
      .values({
        code_hash: ctx.hasher.hash(`code:${code}`),
        grant_id: grantId,
        client_id: input.app.client_id,
        redirect_uri: input.redirectUri,
        code_challenge: input.codeChallenge,
        created_at: now,
        expires_at: now + CODE_TTL_MS,
        consumed_at: null,
      })
      .execute();
  });
  return code;
}

export const codeHash = (ctx: DomainContext, code: string) => ctx.hasher.hash(`code:${code}`);
export const refreshHash = (ctx: DomainContext, token: string) => ctx.hasher.hash(`rt:${token}`);

/** Issues a refresh token for a grant (opaque, 256 bits, stored hashed), with a sliding lifetime. */
export async function issueRefreshToken(
  ctx: DomainContext,
  db: Db,
  grant: Pick<GrantTable, 'id' | 'client_id'>,
  scope: string[],
): Promise<string> {
  const token = randomToken(32);
  const now = ctx.now();
  await db
    .insertInto('refresh_tokens')
    .values({
      token_hash: refreshHash(ctx, token),
      grant_id: grant.id,
      client_id: grant.client_id,
      scope: joinScope(scope),
      created_at: now,
      expires_at: now + ctx.config.refreshTokenTtl * 1000,
      used_at: null,
    })
    .execute();
  return token;
}

/**
 * Revokes a grant: its refresh tokens are deleted and the grant is marked revoked, so access tokens carrying
 * its `gid` are reported inactive at once. Idempotent.
 */
export async function revokeGrant(
  ctx: DomainContext,
  grantId: string,
  reason: string,
  actor = 'system',
): Promise<void> {
  await inTransaction(ctx.db, async (trx) => {
    const res = await trx
      .updateTable('grants')
      .set({ revoked_at: ctx.now() })
      .where('id', '=', grantId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    await trx.deleteFrom('refresh_tokens').where('grant_id', '=', grantId).execute();
    if (Number(res.numUpdatedRows) > 0) {
      const g = await trx
        .selectFrom('grants')
        .select(['app_id', 'tenant_id', 'user_id'])
        .where('id', '=', grantId)
        .executeTakeFirst();
      await recordAudit(ctx, trx, {
        type: 'grant.revoked',
        actor,
        tenantId: g?.tenant_id ?? null,
        appId: g?.app_id ?? null,
        data: { grant_id: grantId, user_id: g?.user_id, reason },
      });
    }
  });
}

/** Whether a grant still stands: not revoked, and its user exists and is not disabled. */
export async function grantIsLive(ctx: DomainContext, grantId: string): Promise<boolean> {
  const row = await ctx.db
    .selectFrom('grants')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .select(['grants.revoked_at', 'users.disabled_at'])
    .where('grants.id', '=', grantId)
    .executeTakeFirst();
  return !!row && row.revoked_at === null && row.disabled_at === null;
}

// ---- A user's view ----------------------------------------------------------------------------------------

export interface ConnectedApp {
  app_id: string;
  app_name: string;
  tenant_name: string;
  scopes: string[];
  /** When the user first authorized the app (of the grants still live). */
  authorized_at: number;
  last_authorized_at: number;
}

/** The apps a user has authorized (live, redeemed grants), grouped by app. */
export async function listConnectedApps(ctx: DomainContext, userId: string): Promise<ConnectedApp[]> {
  const rows = await ctx.db
    .selectFrom('grants')
    .innerJoin('apps', 'apps.id', 'grants.app_id')
    .innerJoin('tenants', 'tenants.id', 'apps.tenant_id')
    .select([
      'grants.app_id',
      'grants.scope',
      'grants.created_at',
      'apps.name as app_name',
      'tenants.name as tenant_name',
    ])
    .where('grants.user_id', '=', userId)
    .where('grants.revoked_at', 'is', null)
    .where('grants.redeemed_at', 'is not', null)
    .where('apps.deleted_at', 'is', null)
    .orderBy('grants.created_at', 'asc')
    .execute();
  const byApp = new Map<string, ConnectedApp>();
  for (const r of rows) {
    const existing = byApp.get(r.app_id);
    if (!existing) {
      byApp.set(r.app_id, {
        app_id: r.app_id,
        app_name: r.app_name,
        tenant_name: r.tenant_name,
        scopes: splitScope(r.scope),
        authorized_at: r.created_at,
        last_authorized_at: r.created_at,
      });
    } else {
      existing.scopes = [...new Set([...existing.scopes, ...splitScope(r.scope)])];
      existing.last_authorized_at = r.created_at;
    }
  }
  return [...byApp.values()].sort((a, b) => b.last_authorized_at - a.last_authorized_at);
}

/**
 * A user takes back an app's access: every grant of theirs for the app is revoked (refresh tokens end, access
 * tokens become inactive) and the remembered consent is forgotten, so the next request asks again.
 *
 * @returns how many grants were revoked.
 */
export async function revokeAppAccess(ctx: DomainContext, userId: string, appId: string): Promise<number> {
  const grants = await ctx.db
    .selectFrom('grants')
    .select('id')
    .where('user_id', '=', userId)
    .where('app_id', '=', appId)
    .where('revoked_at', 'is', null)
    .execute();
  for (const g of grants) await revokeGrant(ctx, g.id, 'user_revoked', `user:${userId}`);
  await ctx.db.deleteFrom('consents').where('user_id', '=', userId).where('app_id', '=', appId).execute();
  return grants.length;
}

/** Purges expired codes, expired refresh tokens, and unredeemed grants whose code has expired. */
export async function purgeGrantData(ctx: DomainContext): Promise<number> {
  const now = ctx.now();
  const codes = await ctx.db
    .deleteFrom('authorization_codes')
    .where('expires_at', '<', now)
    .executeTakeFirst();
  const rts = await ctx.db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst();
  const stale = await ctx.db
    .deleteFrom('grants')
    .where('redeemed_at', 'is', null)
    .where('created_at', '<', now - CODE_TTL_MS * 2)
    .executeTakeFirst();
  return Number(codes.numDeletedRows) + Number(rts.numDeletedRows) + Number(stale.numDeletedRows);
}
