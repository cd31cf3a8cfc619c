import { inTransaction } from '../db/transaction.js';
import { recordAudit } from './audit.js';
import type { DomainContext } from './context.js';

/** Secret use is recorded to the minute: at most one write per secret and minute on each node. */
export const SECRET_USE_PRECISION_MS = 60_000;

/** The minute (since the epoch) a time falls in, as secret use is counted. */
export function useMinute(at: number): number {
  return Math.floor(at / SECRET_USE_PRECISION_MS);
}

/** The app a used secret belongs to, as the audit event names it. */
export interface SecretOwner {
  clientId: string;
  tenantId: string;
  appId: string;
}

/** An audit event about one secret, done by the client it belongs to. */
function secretEvent(
  type: 'secret.first_used' | 'secret.expired_use_attempt',
  owner: SecretOwner,
  secretId: string,
) {
  return { type, actor: `client:${owner.clientId}`, tenantId: owner.tenantId, appId: owner.appId, secretId };
}

/**
 * Records that a secret authenticated a request at `now`, precise to the minute: the only writer of
 * `client_secrets.last_used_at`. When `maybeFirst` (the caller saw no earlier use), a conditional update
 * decides which request, on whichever node, was the first use, and that one alone records a
 * `secret.first_used` audit event. Otherwise the time is written only if the stored one is from an earlier
 * minute, so concurrent nodes don't rewrite it.
 */
export async function recordSecretUse(
  ctx: DomainContext,
  owner: SecretOwner,
  secretId: string,
  maybeFirst: boolean,
  now: number,
): Promise<void> {
  const db = ctx.db;
  if (maybeFirst) {
    // The first use and its audit event commit together: never a stamped secret whose first use went
    // unrecorded (a failure in between), nor a reader that sees the one without the other.
    const first = await inTransaction(db, async (trx) => {
      const res = await trx
        .updateTable('client_secrets')
        .set({ last_used_at: now })
        .where('id', '=', secretId)
        .where('last_used_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await recordAudit(ctx, trx, secretEvent('secret.first_used', owner, secretId));
      return true;
    });
    if (first) return;
  }
  const minuteStart = useMinute(now) * SECRET_USE_PRECISION_MS;
  await db
    .updateTable('client_secrets')
    .set({ last_used_at: now })
    .where('id', '=', secretId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', minuteStart)]))
    .execute();
}

/**
 * Records that a presented secret matched but had expired (the request was refused like one with a wrong
 * secret). Callers limit how often they record it for one secret.
 */
export function recordExpiredSecretUse(
  ctx: DomainContext,
  owner: SecretOwner,
  secretId: string,
): Promise<void> {
  return recordAudit(ctx, ctx.db, secretEvent('secret.expired_use_attempt', owner, secretId));
}
