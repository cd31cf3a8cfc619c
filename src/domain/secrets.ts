import type { Db } from '../db/database.js';
import { inTransaction } from '../db/transaction.js';
import type { App } from './apps.js';
import { getAppForActor } from './apps.js';
import type { AuditInput } from './audit.js';
import type { Actor, DomainContext } from './context.js';
import { conflict, DomainError, notFound } from './errors.js';
import { recordAppEvent } from './event-data.js';
import {
  type ClientSecret,
  type CreatedSecret,
  insertSecret,
  MAX_ACTIVE_SECRETS,
  type SecretOptions,
  toSecret,
} from './secret-issuance.js';

/** An app's client secrets as its managers see them: list, add, refresh (rotate) and revoke. */

export {
  addMonths,
  type ClientSecret,
  type CreatedSecret,
  DEFAULT_SECRET_MONTHS,
  defaultSecretExpiry,
  generateSecretValue,
  insertSecret,
  MAX_ACTIVE_SECRETS,
  monthsWithinPolicy,
  policyMaxExpiry,
  type SecretOptions,
  toSecret,
} from './secret-issuance.js';

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

function requireConfidential(app: App): void {
  if (app.client_type !== 'confidential')
    throw new DomainError('secret_public_client', 'Public clients have no client secrets; they use PKCE.', {
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
  const now = ctx.now();
  return rows.map((r) => toSecret(r, now));
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
        'secret_limit_reached',
        `An app can have at most ${MAX_ACTIVE_SECRETS} active client secrets. Revoke one first.`,
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
      throw conflict('That client secret is already revoked.', 'secret_already_revoked');
    }
    const ids = current.map((c) => c.id);
    const description = opts.description ?? current[0]?.description ?? '';
    const created = await insertSecret(ctx, trx, actor, app, { ...opts, description }, 'secret.refreshed', {
      replaces: ids,
    });
    if (ids.length > 0)
      await trx
        .updateTable('client_secrets')
        .set({ revoked_at: now, replaced_by: created.id })
        .where('id', 'in', ids)
        .where('revoked_at', 'is', null)
        .execute();
    return created;
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
    const audit: AuditInput = {
      type: 'secret.revoked',
      actor: actor.id,
      tenantId: app.tenant_id,
      appId: app.id,
      secretId,
    };
    await recordAppEvent(ctx, trx, audit, 'secret.revoked', app, actor.id, { secret: existing });
    return { ...existing, revoked_at: now };
  });
  await ctx.changes.publish('client', app.client_id);
  return toSecret(row, now);
}
