import type { DomainContext } from './context.js';

/**
 * The store of `Idempotency-Key` records (table `idempotency_keys`), and nothing else: claim a key, read
 * it back, record the response, free it, purge old ones. What a record means (the request fingerprint,
 * the sealed response, the 24-hour window) is decided by src/http/api/idempotency.ts.
 */

/** A stored record: `status` is 0 while the first request is still running. */
export interface IdempotencyRecord {
  status: number;
  /** The caller's opaque envelope (JSON text). */
  body: string;
}

/**
 * Claims `(scope, key)` for a new request: first drops this key's record if it was created before
 * `staleBefore`, then inserts one with status 0. The primary key makes the claim atomic across nodes.
 *
 * @returns true when this call claimed the key, false when a live record already holds it.
 */
export async function claimIdempotencyKey(
  ctx: DomainContext,
  scope: string,
  key: string,
  body: string,
  staleBefore: number,
): Promise<boolean> {
  await ctx.db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('created_at', '<', staleBefore)
    .execute();
  const claimed = await ctx.db
    .insertInto('idempotency_keys')
    .values({ scope, key, status_code: 0, body, created_at: ctx.now() })
    .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
    .executeTakeFirst();
  return Number(claimed.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** The record held for `(scope, key)`, if any. */
export async function findIdempotencyRecord(
  ctx: DomainContext,
  scope: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const row = await ctx.db
    .selectFrom('idempotency_keys')
    .select(['status_code', 'body'])
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
  return row && { status: row.status_code, body: row.body };
}

/** Records the finished request's status and envelope. */
export async function completeIdempotencyKey(
  ctx: DomainContext,
  scope: string,
  key: string,
  record: IdempotencyRecord,
): Promise<void> {
  await ctx.db
    .updateTable('idempotency_keys')
    .set({ status_code: record.status, body: record.body })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

/** Frees `(scope, key)` (the request failed), so the client can retry with the same key. */
export async function releaseIdempotencyKey(ctx: DomainContext, scope: string, key: string): Promise<void> {
  await ctx.db.deleteFrom('idempotency_keys').where('scope', '=', scope).where('key', '=', key).execute();
}

/** Deletes every record created before `staleBefore`; returns how many. */
export async function purgeIdempotencyRecords(ctx: DomainContext, staleBefore: number): Promise<number> {
  const r = await ctx.db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', staleBefore)
    .executeTakeFirst();
  return Number(r.numDeletedRows ?? 0n);
}
