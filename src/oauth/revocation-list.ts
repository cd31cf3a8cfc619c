import type { DomainContext } from '../domain/context.js';

/**
 * The deny-list of revoked access tokens, by `jti`, kept until each token's own expiry (after which the
 * token is dead anyway and the row is purged).
 */
export class RevocationList {
  constructor(private readonly ctx: DomainContext) {}

  async isRevoked(jti: string): Promise<boolean> {
    const row = await this.ctx.db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
    return row !== undefined;
  }

  /** Adds a token to the deny-list; `expiresAt` is its `exp` in epoch seconds. Idempotent. */
  async revoke(jti: string, expiresAt: number): Promise<void> {
    await this.ctx.db
      .insertInto('revoked_tokens')
      .values({ jti, expires_at: expiresAt * 1000 })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }

  /** Deletes entries whose tokens have expired. Returns how many. */
  async purge(): Promise<number> {
    const res = await this.ctx.db.deleteFrom('revoked_tokens').where('expires_at', '<', this.ctx.now()).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
