import type { IdTokenAlg } from '../db/schema.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';
import { enqueue } from './outbox.js';
import { splitScope } from './scopes.js';

/*
 * OpenID Connect's view of users and grants: the standard scopes and the claims they release (OIDC Core
 * §5.4), and which apps hear of a sign-out (Back-Channel Logout 1.0 §2.5), queued on the outbox.
 */

/** The OIDC standard scopes this server supports: every app may ask for them (OIDC Core §3.1.2.1, §5.4). */
export const OIDC_SCOPES = ['openid', 'profile', 'email'] as const;

/** The claims the standard scopes release, as published in discovery's `claims_supported`. */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: ['name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
};

/** Whether `scope` is one of {@link OIDC_SCOPES}. */
export function isStandardScope(scope: string): boolean {
  return (OIDC_SCOPES as readonly string[]).includes(scope);
}

/**
 * The user's claims for the granted scopes (OIDC Core §5.1, §5.4): always `sub` (the user's id, a UUID that
 * is never reused); `name`, `preferred_username`, `updated_at` with `profile`; `email`, `email_verified` with
 * `email`. `undefined` when the user no longer exists or is disabled.
 */
export async function userClaims(
  ctx: DomainContext,
  userId: string,
  scopes: readonly string[],
): Promise<Record<string, unknown> | undefined> {
  const row = await ctx.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name', 'email_verified_at', 'updated_at', 'created_at', 'disabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row || row.disabled_at !== null) return undefined;
  const claims: Record<string, unknown> = { sub: row.id };
  if (scopes.includes('profile')) {
    claims.name = row.display_name;
    claims.preferred_username = row.email;
    claims.updated_at = Math.floor((row.updated_at ?? row.created_at) / 1000);
  }
  if (scopes.includes('email')) {
    claims.email = row.email;
    // One home for verification: the address check of sign-up (email-links) sets email_verified_at.
    claims.email_verified = row.email_verified_at !== null;
  }
  return claims;
}

/** The outbox kind of a back-channel logout delivery (OIDC Back-Channel Logout 1.0). */
export const BACKCHANNEL_LOGOUT_KIND = 'oidc.backchannel_logout';

/** One app that registered a `backchannel_logout_uri`, and the user and session to tell it about. */
export interface LogoutTarget {
  appId: string;
  tenantId: string;
  clientId: string;
  uri: string;
  /** The app's ID token algorithm, which logout tokens use too. */
  alg: IdTokenAlg;
  userId: string;
  sid: string | null;
}

/** What an outbox message of {@link BACKCHANNEL_LOGOUT_KIND} holds: who to tell about which session. */
export interface LogoutMessage {
  app_id: string;
  user_id: string;
  sid: string | null;
}

function targetsQuery(ctx: DomainContext) {
  return ctx.db
    .selectFrom('grants')
    .innerJoin('apps', 'apps.id', 'grants.app_id')
    .select([
      'apps.id as app_id',
      'apps.backchannel_logout_uri',
      'grants.user_id',
      'grants.sid',
      'grants.scope',
    ])
    .where('apps.backchannel_logout_uri', 'is not', null)
    .where('apps.deleted_at', 'is', null)
    .where('grants.redeemed_at', 'is not', null)
    .where('grants.revoked_at', 'is', null);
}

function uniqueMessages(
  rows: Array<{
    app_id: string;
    backchannel_logout_uri: string | null;
    user_id: string;
    sid: string | null;
    scope: string;
  }>,
): LogoutMessage[] {
  const seen = new Map<string, LogoutMessage>();
  for (const r of rows) {
    const key = `${r.app_id}|${r.user_id}|${r.sid ?? ''}`;
    // Only grants that gave the app an ID token signed the user in there.
    if (!seen.has(key) && r.backchannel_logout_uri && splitScope(r.scope).includes('openid'))
      seen.set(key, { app_id: r.app_id, user_id: r.user_id, sid: r.sid });
  }
  return [...seen.values()];
}

/**
 * Queues one logout per (app, user, session) among the grants `filter` selects and `keep` (if given) keeps;
 * returns how many.
 */
async function queueFor(
  ctx: DomainContext,
  filter: (q: ReturnType<typeof targetsQuery>) => ReturnType<typeof targetsQuery>,
  keep: (row: { sid: string | null }) => boolean = () => true,
): Promise<number> {
  const messages = uniqueMessages((await filter(targetsQuery(ctx)).execute()).filter(keep));
  for (const payload of messages)
    await enqueue(ctx.db, { kind: BACKCHANNEL_LOGOUT_KIND, payload }, ctx.now());
  return messages.length;
}

/**
 * The public OpenID Connect `sid` of the browser session whose row key (`sessions.id_hash`) is `idHash`:
 * derived with the server's keyed hash, so it names the session (ID tokens, logout tokens) without revealing
 * anything that would let one resume it.
 */
export function sessionSid(ctx: Pick<DomainContext, 'hasher'>, idHash: string): string {
  return ctx.hasher.hash(`sid:${idHash}`).slice(0, 32);
}

/**
 * Queues a back-channel logout (Back-Channel Logout 1.0 §2.5) for every app that got an ID token in the
 * browser session `sid`, which is ending: one outbox message per app. Call it in the transaction that ends
 * the session (`ctx.db` the transaction), so the messages exist exactly when the session is gone; the
 * outbox worker delivers them later, and the sign-out never waits. Returns how many were queued.
 */
export async function queueSessionLogout(ctx: DomainContext, sid: string): Promise<number> {
  return queueFor(ctx, (q) => q.where('grants.sid', '=', sid));
}

/**
 * Signs `userId` out everywhere: deletes every browser session of the user and, first, queues a back-channel
 * logout for every app that got an ID token in one of the live ones (one message per app and session). A
 * password reset and an admin disabling the account both end here. Call it in the transaction of that change
 * (`ctx.db` the transaction). Returns how many logouts were queued.
 */
export async function endUserSessions(ctx: DomainContext, userId: string): Promise<number> {
  const sessions = await ctx.db
    .selectFrom('sessions')
    .select('id_hash')
    .where('user_id', '=', userId)
    .where('expires_at', '>', ctx.now())
    .execute();
  // Matched here rather than in an `in (...)` list, which a user with very many sessions would push past
  // SQLite's limit on bound parameters.
  const live = new Set(sessions.map((s) => sessionSid(ctx, s.id_hash)));
  const queued =
    live.size === 0
      ? 0
      : await queueFor(
          ctx,
          (q) => q.where('grants.user_id', '=', userId).where('grants.sid', 'is not', null),
          (r) => live.has(r.sid as string),
        );
  await ctx.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  return queued;
}

/**
 * Queues a back-channel logout for each session in which `userId` signed in to `appId`, which the user is
 * revoking (one outbox message per session). Call it in the revocation's transaction, before the grants
 * that name the sessions are revoked. Returns how many were queued.
 */
export async function queueAppRevocationLogout(
  ctx: DomainContext,
  userId: string,
  appId: string,
): Promise<number> {
  return queueFor(ctx, (q) => q.where('grants.user_id', '=', userId).where('grants.app_id', '=', appId));
}

/**
 * Where a queued logout goes now: the app's current `backchannel_logout_uri` and ID token algorithm.
 * `null` when the app was deleted; `uri` is `null` when it no longer registers one.
 */
export async function logoutTarget(
  ctx: DomainContext,
  msg: LogoutMessage,
): Promise<(Omit<LogoutTarget, 'uri'> & { uri: string | null }) | null> {
  const app = await ctx.db
    .selectFrom('apps')
    .select(['id', 'tenant_id', 'client_id', 'backchannel_logout_uri', 'id_token_signed_response_alg'])
    .where('id', '=', msg.app_id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!app) return null;
  return {
    appId: app.id,
    tenantId: app.tenant_id,
    clientId: app.client_id,
    uri: app.backchannel_logout_uri,
    alg: app.id_token_signed_response_alg,
    userId: msg.user_id,
    sid: msg.sid,
  };
}

/** Records the outcome of a back-channel logout delivery (never the logout token itself). */
export async function auditLogoutDelivery(
  ctx: DomainContext,
  target: Pick<LogoutTarget, 'appId' | 'tenantId' | 'userId' | 'sid'> & { uri: string | null },
  outcome: { delivered: boolean; attempts: number; error?: string },
): Promise<void> {
  await recordAudit(ctx, ctx.db, {
    type: outcome.delivered ? 'backchannel_logout.delivered' : 'backchannel_logout.failed',
    actor: 'system',
    tenantId: target.tenantId,
    appId: target.appId,
    data: {
      user_id: target.userId,
      sid: target.sid,
      uri: target.uri,
      attempts: outcome.attempts,
      ...(outcome.error ? { error: outcome.error } : {}),
    },
  });
}
