import type { DomainContext } from '../domain/context.js';
import { revokedTokens } from '../domain/revoked-tokens.js';
import type { CacheGuard } from './client-registry.js';

/**
 * This node's view of the deny-list of revoked access tokens (the domain's {@link revokedTokens}).
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
      return revokedTokens.has(this.ctx, jti);
    }
    const memory = this.#memory ?? (await this.#load());
    return memory.has(jti);
  }

  #load(): Promise<Set<string>> {
    if (this.#loading) return this.#loading;
    const generation = this.#generation;
    this.#loading = (async () => {
      const set = new Set(await revokedTokens.live(this.ctx));
      // A revocation heard while loading is in the rows or arrives after; only a guard reset voids the load.
      if (generation === this.#generation) this.#memory = set;
      return set;
    })().finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  /** Adds a token to the deny-list; `expiresAt` is its `exp` in epoch seconds. Idempotent. */
  revoke(jti: string, expiresAt: number): Promise<void> {
    return revokedTokens.add(this.ctx, jti, expiresAt);
  }

  /** Deletes entries whose tokens have expired. Returns how many. */
  async purge(): Promise<number> {
    const n = await revokedTokens.purgeExpired(this.ctx);
    if (n > 0) this.#drop();
    return n;
  }
}
