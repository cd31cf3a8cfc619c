import type { DomainContext } from './context.js';

/**
 * The deny-list of revoked access tokens in the database, by `jti`, each kept until the token's own expiry
 * (after which the token is dead anyway and the row is purged): the only code that touches
 * `revoked_tokens`. The protocol layer's `RevocationList` keeps the node's copy of it in memory.
 */
export const revokedTokens = {
  /** Whether this `jti` is on the list. */
  async has(ctx: DomainContext, jti: string): Promise<boolean> {
    const row = await ctx.db
      .selectFrom('revoked_tokens')
      .select('jti')
      .where('jti', '=', jti)
      .executeTakeFirst();
    return row !== undefined;
  },

  /** Every `jti` on the list whose token has not yet expired. */
  async live(ctx: DomainContext): Promise<string[]> {
    const rows = await ctx.db
      .selectFrom('revoked_tokens')
      .select('jti')
      .where('expires_at', '>', ctx.now())
      .execute();
    return rows.map((r) => r.jti);
  },

  /**
   * Puts a token on the list and announces it to every node (in the same transaction, then published);
   * `expiresAt` is its `exp` in epoch seconds. Idempotent.
   */
  async add(ctx: DomainContext, jti: string, expiresAt: number): Promise<void> {
    await ctx.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('revoked_tokens')
        .values({ jti, expires_at: expiresAt * 1000 })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
      await ctx.changes.announce(trx, 'revoked', jti);
    });
    await ctx.changes.publish('revoked', jti);
  },

  /** Deletes the entries whose tokens have expired. Returns how many. */
  async purgeExpired(ctx: DomainContext): Promise<number> {
    const res = await ctx.db
      .deleteFrom('revoked_tokens')
      .where('expires_at', '<', ctx.now())
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  },
};
