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
  /** Revocations announced while the current load is in flight, added to its result. */
  #heardWhileLoading: string[] | null = null;

  constructor(
    private readonly ctx: DomainContext,
    private readonly guard?: CacheGuard | undefined,
  ) {}

  /** Notes a revocation announced by any node (`*`: reload everything). */
  heard(jti: string): void {
    if (jti === '*') this.#drop();
    else if (this.#memory) this.#memory.add(jti);
    // The load in flight may have read before this revocation was committed.
    else this.#heardWhileLoading?.push(jti);
  }

  #drop(): void {
    this.#generation++;
    this.#memory = null;
    // A load in flight may have read before the change that caused this drop: later callers must not join it.
    this.#loading = null;
    this.#heardWhileLoading = null;
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
    const heard: string[] = [];
    this.#heardWhileLoading = heard;
    const loading = (async () => {
      const set = new Set(await revokedTokens.live(this.ctx));
      for (const jti of heard) set.add(jti);
      // A revocation committed while loading is in the rows or was heard meanwhile; a guard reset voids the load.
      if (generation === this.#generation) this.#memory = set;
      return set;
    })().finally(() => {
      if (this.#loading === loading) this.#loading = null;
      if (this.#heardWhileLoading === heard) this.#heardWhileLoading = null;
    });
    this.#loading = loading;
    return loading;
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
