import { randomBytes } from 'node:crypto';
import { uuid } from '../crypto/random.js';
import type { Db } from '../db/database.js';
import type { AppTable, ClientSecretTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { App } from './apps.js';
import { getAppForActor } from './apps.js';
import { recordAudit } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, DomainError, invalid, notFound } from './errors.js';
import { getTenant } from './tenants.js';

/** An app holds at most this many active (unrevoked, unexpired) secrets. */
export const MAX_ACTIVE_SECRETS = 5;
/** Default lifetime of a new secret, unless the tenant's policy is shorter (see {@link defaultSecretExpiry}). */
export const DEFAULT_SECRET_MONTHS = 6;
const DAY = 86_400_000;

/** The latest expiry a tenant's policy (maximum lifetime in days) allows for a secret created at `now`. */
export function policyMaxExpiry(now: number, maxLifetimeDays: number): number {
  // One day of slack, so "N months" is not refused over the odd day between calendar months and days.
  return now + maxLifetimeDays * DAY + DAY;
}

/** Whether a lifetime of `months` from `now` fits the tenant's policy. */
export function monthsWithinPolicy(now: number, maxLifetimeDays: number, months: number): boolean {
  return addMonths(now, months) <= policyMaxExpiry(now, maxLifetimeDays);
}

/**
 * The expiry of a secret created without one (with an app, by "Refresh", or with no lifetime given): six
 * months, or the policy's maximum when that is shorter, so a strict policy never blocks those actions.
 */
export function defaultSecretExpiry(now: number, maxLifetimeDays: number): number {
  return Math.min(addMonths(now, DEFAULT_SECRET_MONTHS), now + maxLifetimeDays * DAY);
}

/** A secret as listed: never its value, only the hint (first 3 characters). */
export interface ClientSecret {
  /** Secret ID: identifies the secret in the hub, the API and the audit log. Authenticates nothing. */
  id: string;
  hint: string;
  description: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A secret just created: the only object that ever carries `value`. */
export interface CreatedSecret extends ClientSecret {
  value: string;
}

export function toSecret(row: ClientSecretTable): ClientSecret {
  return {
    id: row.id,
    hint: row.hint,
    description: row.description,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

/**
 * A new client secret value: 256 random bits, base64url (43 characters of RFC 3986 unreserved characters),
 * so form-encoding it for HTTP Basic (RFC 6749 §2.3.1) changes nothing and raw senders present the same value.
 */
export function generateSecretValue(): string {
  return randomBytes(32).toString('base64url');
}

/** Adds calendar months in UTC. */
export function addMonths(at: number, months: number): number {
  const d = new Date(at);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

export interface SecretOptions {
  description?: string;
  /** 6, 12 or 24 are the hub's presets; any whole number of months within policy works. */
  expires_in_months?: number;
  /** An explicit expiry (epoch ms); must be in the future and within policy. */
  expires_at?: number;
  /** No expiry: only when the tenant's policy allows it. */
  never_expires?: boolean;
  /** An operator-chosen value (bootstrap only). */
  value?: string;
  /** Skip the tenant's lifetime policy (bootstrap only: the operator manages that secret). */
  bypassPolicy?: boolean;
}

async function resolveExpiry(
  ctx: DomainContext,
  db: Db,
  tenantId: string,
  opts: SecretOptions,
): Promise<number | null> {
  const now = ctx.now();
  const tenant = await getTenant(ctx, tenantId, db);
  const maxDays = tenant.settings.secret_max_lifetime_days;
  const maxAt = policyMaxExpiry(now, maxDays);
  const given = [
    opts.expires_in_months !== undefined,
    opts.expires_at !== undefined,
    !!opts.never_expires,
  ].filter(Boolean);
  if (given.length > 1)
    throw invalid('expires_at', 'Choose one of: a lifetime in months, an expiry date, or no expiry.');
  if (opts.never_expires) {
    if (!tenant.settings.secret_allow_never_expire && !opts.bypassPolicy)
      throw invalid('expires_at', "Your tenant's policy requires client secrets to expire.");
    return null;
  }
  let at: number;
  if (opts.expires_at !== undefined) {
    if (!Number.isFinite(opts.expires_at)) throw invalid('expires_at', 'The expiry date is not valid.');
    at = opts.expires_at;
    if (at <= now + 60_000) throw invalid('expires_at', 'The expiry date must be in the future.');
  } else if (opts.expires_in_months === undefined) {
    return defaultSecretExpiry(now, maxDays);
  } else {
    const months = opts.expires_in_months;
    if (!Number.isInteger(months) || months < 1 || months > 120)
      throw invalid('expires_in_months', 'The lifetime must be a whole number of months between 1 and 120.');
    at = addMonths(now, months);
  }
  if (at > maxAt)
    throw invalid(
      opts.expires_at !== undefined ? 'expires_at' : 'expires_in_months',
      `Your tenant's policy allows client secrets to live at most ${maxDays} days.`,
    );
  return at;
}

function checkDescription(d: string | undefined): string {
  const v = (d ?? '').trim();
  if (v.length > 200) throw invalid('description', 'The description is too long (200 characters at most).');
  return v;
}

/** Counts an app's active secrets (unrevoked and unexpired). */
async function countActive(db: Db, appId: string, now: number): Promise<number> {
  const r = await db
    .selectFrom('client_secrets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * Inserts a secret inside the caller's transaction and records `secret.created`. Used by app creation and
 * by {@link addSecret}.
 */
export async function insertSecret(
  ctx: DomainContext,
  trx: Db,
  actor: Actor,
  app: Pick<AppTable, 'id' | 'tenant_id' | 'client_id'>,
  opts: SecretOptions,
  auditType: 'secret.created' | 'secret.refreshed' = 'secret.created',
  extra: Record<string, unknown> = {},
): Promise<CreatedSecret> {
  const value = opts.value ?? generateSecretValue();
  const row: ClientSecretTable = {
    id: uuid(),
    app_id: app.id,
    hash: ctx.hasher.hash(value),
    hint: value.slice(0, 3),
    description: checkDescription(opts.description),
    created_at: ctx.now(),
    expires_at: await resolveExpiry(ctx, trx, app.tenant_id, opts),
    last_used_at: null,
    revoked_at: null,
  };
  await trx.insertInto('client_secrets').values(row).execute();
  await ctx.changes.announce(trx, 'client', app.client_id);
  await recordAudit(ctx, trx, {
    type: auditType,
    actor: actor.id,
    tenantId: app.tenant_id,
    appId: app.id,
    secretId: row.id,
    // Times in audit data are ISO 8601, like every other time the API returns.
    data: {
      description: row.description,
      expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
      ...extra,
    },
  });
  return { ...toSecret(row), value };
}

function requireConfidential(app: App): void {
  if (app.client_type !== 'confidential')
    throw new DomainError('validation', 'Public clients have no client secrets; they use PKCE.', {
      client_type: 'Public clients have no client secrets; they use PKCE.',
    });
}

/** Lists an app's secrets, newest first. Values are never returned. */
export async function listSecrets(ctx: DomainContext, actor: Actor, appId: string): Promise<ClientSecret[]> {
  await getAppForActor(ctx, actor, appId);
  const rows = await ctx.db
    .selectFrom('client_secrets')
    .selectAll()
    .where('app_id', '=', appId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toSecret);
}

/**
 * Adds a secret beside the existing ones (overlap for zero-downtime rotation). The value is returned here
 * and never again.
 */
export async function addSecret(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
  opts: SecretOptions = {},
): Promise<CreatedSecret> {
  const app = await getAppForActor(ctx, actor, appId);
  requireConfidential(app);
  const created = await inTransaction(ctx.db, async (trx) => {
    if ((await countActive(trx, app.id, ctx.now())) >= MAX_ACTIVE_SECRETS)
      throw new DomainError(
        'limit',
        `An app can have at most ${MAX_ACTIVE_SECRETS} active client secrets. Delete one first.`,
      );
    return insertSecret(ctx, trx, actor, app, opts);
  });
  await ctx.changes.publish('client', app.client_id);
  return created;
}

/**
 * The seeds' "Refresh": in one transaction, deactivate the current secret and create a new one, shown once.
 * With `secretId`, that secret is replaced; without it, every active secret is. Tokens already issued stay
 * valid: only the client's credentials change.
 */
export async function refreshSecret(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
  secretId?: string,
  opts: SecretOptions = {},
): Promise<CreatedSecret> {
  const app = await getAppForActor(ctx, actor, appId);
  requireConfidential(app);
  const now = ctx.now();
  const created = await inTransaction(ctx.db, async (trx) => {
    let q = trx
      .selectFrom('client_secrets')
      .selectAll()
      .where('app_id', '=', app.id)
      .where('revoked_at', 'is', null);
    if (secretId) q = q.where('id', '=', secretId);
    const current = await q.execute();
    if (secretId && current.length === 0) {
      const exists = await trx
        .selectFrom('client_secrets')
        .select('id')
        .where('app_id', '=', app.id)
        .where('id', '=', secretId)
        .executeTakeFirst();
      if (!exists) throw notFound('Client secret');
      throw conflict('That client secret is already revoked.');
    }
    const ids = current.map((c) => c.id);
    if (ids.length > 0)
      await trx
        .updateTable('client_secrets')
        .set({ revoked_at: now })
        .where('id', 'in', ids)
        .where('revoked_at', 'is', null)
        .execute();
    const description = opts.description ?? current[0]?.description ?? '';
    return insertSecret(ctx, trx, actor, app, { ...opts, description }, 'secret.refreshed', {
      replaces: ids,
    });
  });
  await ctx.changes.publish('client', app.client_id);
  return created;
}

/** Revokes one secret. It fails at once, exactly like a wrong secret. */
export async function revokeSecret(
  ctx: DomainContext,
  actor: Actor,
  appId: string,
  secretId: string,
): Promise<ClientSecret> {
  const app = await getAppForActor(ctx, actor, appId);
  const now = ctx.now();
  const row = await inTransaction(ctx.db, async (trx) => {
    const existing = await trx
      .selectFrom('client_secrets')
      .selectAll()
      .where('app_id', '=', app.id)
      .where('id', '=', secretId)
      .executeTakeFirst();
    if (!existing) throw notFound('Client secret');
    if (existing.revoked_at !== null) return existing;
    await trx.updateTable('client_secrets').set({ revoked_at: now }).where('id', '=', secretId).execute();
    await ctx.changes.announce(trx, 'client', app.client_id);
    await recordAudit(ctx, trx, {
      type: 'secret.revoked',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      secretId,
    });
    return { ...existing, revoked_at: now };
  });
  await ctx.changes.publish('client', app.client_id);
  return toSecret(row);
}
