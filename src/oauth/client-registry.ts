import type pg from 'pg';
import { ClientLookup, type ClientRecord } from '../domain/client-lookup.js';
import type { DomainContext } from '../domain/context.js';

/**
 * Decides, before a cached record is used, whether caches may be trusted: it resolves after a version read
 * that began after the call (the SQLite or PostgreSQL version gate), false when that read failed. A moved
 * version drops the caches through the gate's `onChange`, before this resolves.
 */
export type CacheGuard = () => Promise<boolean>;

/** How many clients a node keeps in memory. */
const CACHE_LIMIT = 10_000;

/**
 * The protocol endpoints' view of clients: each loaded by the domain's {@link ClientLookup} (one query), and
 * cached only under a {@link CacheGuard} that guarantees freshness (SQLite: every change is announced
 * locally and `data_version` reveals other processes' commits; PostgreSQL: a shared version read that
 * began after the request arrived), so a secret revoked or an app disabled anywhere is refused on the very
 * next request. Without a guard every lookup reads the database. Secret expiry is checked at use, against
 * the clock, so a cached entry never outlives it.
 */
export class ClientRegistry {
  readonly #lookup: ClientLookup;
  readonly #cache = new Map<string, ClientRecord>();
  /** Bumped on every invalidation, so a load that raced with a change is not cached. */
  #generation = 0;
  /** Whether the latest guard check allowed caches (the API catalogue follows it: see ApiRegistry). */
  #trusted = false;

  readonly #guard: CacheGuard | undefined;

  /**
   * @param options.guard Enables the cache (see {@link CacheGuard}).
   * @param options.pgPool On PostgreSQL, the lookup runs as a named prepared statement straight on the pool.
   */
  constructor(
    ctx: DomainContext,
    options: { guard?: CacheGuard | undefined; pgPool?: pg.Pool | undefined } = {},
  ) {
    this.#guard = options.guard;
    this.#lookup = new ClientLookup(ctx, options.pgPool);
  }

  /** Drops one client (`*`: all) from the cache. */
  invalidate(clientId: string): void {
    this.#generation++;
    if (clientId === '*') this.#cache.clear();
    else this.#cache.delete(clientId);
  }

  /** Whether the latest lookup's freshness check allowed caches. */
  get trusted(): boolean {
    return this.#trusted;
  }

  async find(clientId: string): Promise<ClientRecord | null> {
    if (clientId.length === 0 || clientId.length > 256) return null;
    const trusted = this.#guard ? await this.#guard() : false;
    this.#trusted = trusted;
    if (!trusted) {
      if (this.#cache.size > 0) this.invalidate('*');
      return this.#lookup.load(clientId);
    }
    const hit = this.#cache.get(clientId);
    if (hit) return hit;
    const generation = this.#generation;
    const record = await this.#lookup.load(clientId);
    if (record && generation === this.#generation) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(clientId, record);
    }
    return record;
  }
}
