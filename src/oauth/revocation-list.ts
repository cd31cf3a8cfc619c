import type { DomainContext } from '../domain/context.js';
import type { CacheGuard } from './client-registry.js';

/**
 * The deny-list of revoked access tokens, by `jti`, kept until each token's own expiry (after which the
 * token is dead anyway and the row is purged). A single-purpose store: the only code that touches
 * `revoked_tokens`.
 *
 * Under a {@link CacheGuard}, the process holds the whole (small) list in memory: its own revocations are
 * added as they happen, and a change committed elsewhere (the SQLite or PostgreSQL version gate)
 * makes it reload. Without a guard, every check goes to the database.
 */
export class RevocationList {
  #memory: Set<string> | null = null;
  #loading: Promise<Set<string>> | null = null;
  #generation = 0;

  constructor(
    private readonly ctx: DomainContext,
    private readonly guard?: CacheGuard | undefined,
  ) {}

  /** Notes a revocation announced by any node (`*`: reload everything). */
  heard(jti: string): void {
    if (jti === '*') this.#drop();
    else this.#memory?.add(jti);
  }

  #drop(): void {
    this.#generation++;
    this.#memory = null;
  }

  async isRevoked(jti: string): Promise<boolean> {
    const trusted = this.guard ? await this.guard() : false;
    if (!trusted) {
      this.#drop();
      return this.#query(jti);
    }
    const memory = this.#memory ?? (await this.#load());
    return memory.has(jti);
  }

  async #query(jti: string): Promise<boolean> {
    const row = await this.ctx.db
      .selectFrom('revoked_tokens')
      .select('jti')
      .where('jti', '=', jti)
      .executeTakeFirst();
    return row !== undefined;
  }

  #load(): Promise<Set<string>> {
    if (this.#loading) return this.#loading;
    const generation = this.#generation;
    this.#loading = (async () => {
      const rows = await this.ctx.db
        .selectFrom('revoked_tokens')
        .select('jti')
        .where('expires_at', '>', this.ctx.now())
        .execute();
      const set = new Set(rows.map((r) => r.jti));
      // A revocation heard while loading is in the rows or arrives after; only a guard reset voids the load.
      if (generation === this.#generation) this.#memory = set;
      return set;
    })().finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  /** Adds a token to the deny-list; `expiresAt` is its `exp` in epoch seconds. Idempotent. */
  async revoke(jti: string, expiresAt: number): Promise<void> {
    await this.ctx.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('revoked_tokens')
        .values({ jti, expires_at: expiresAt * 1000 })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
      await this.ctx.changes.announce(trx, 'revoked', jti);
    });
    await this.ctx.changes.publish('revoked', jti);
  }

  /** Deletes entries whose tokens have expired. Returns how many. */
  async purge(): Promise<number> {
    const res = await this.ctx.db
      .deleteFrom('revoked_tokens')
      .where('expires_at', '<', this.ctx.now())
      .executeTakeFirst();
    const n = Number(res.numDeletedRows);
    if (n > 0) this.#drop();
    return n;
  }
}
