import type pg from 'pg';
import { VersionWatch } from './version-watch.js';

/**
 * Freshness for caches of security state on PostgreSQL, where several nodes share one database.
 *
 * Every transaction that changes cached state increments `change_version` (see `PgChangeFeed.announce`).
 * Before a request may use a cache, the gate reads that counter with a read that *started after the
 * request arrived*; if it moved, every cache is dropped. So anything committed before a request reached
 * this node is seen by it, exactly as if it had read the database itself: a secret refreshed through one
 * node is refused by every node on the very next request.
 *
 * Reads are shared: requests that arrive while a read is in flight wait for the next one, which starts
 * when the current one ends and answers all of them. Under load that is one tiny query per batch of
 * requests instead of a lookup per request.
 */
export class VersionGate {
  #current: Promise<boolean> | null = null;
  #queued: Promise<boolean> | null = null;
  readonly #watch = new VersionWatch();

  constructor(private readonly pool: pg.Pool) {}

  /** Called whenever the version moved (or can't be read): drop everything cached. */
  onChange(listener: () => void): () => void {
    return this.#watch.onChange(listener);
  }

  /**
   * Resolves once a version read that began after this call has finished: true if caches may be used,
   * false if the read failed (callers then go to the database).
   */
  check(): Promise<boolean> {
    if (!this.#current) return this.#start();
    if (!this.#queued) {
      const after = () => {
        this.#queued = null;
        return this.#start();
      };
      this.#queued = this.#current.then(after, after);
    }
    return this.#queued;
  }

  #start(): Promise<boolean> {
    const read = this.#read().finally(() => {
      if (this.#current === read) this.#current = null;
    });
    this.#current = read;
    return read;
  }

  async #read(): Promise<boolean> {
    try {
      const { rows } = await this.pool.query<{ version: number }>({
        name: 'clavis_change_version',
        text: 'select version from change_version where id = 1',
      });
      const version = Number(rows[0]?.version);
      if (!Number.isFinite(version)) throw new Error('change_version row is missing');
      return this.#watch.saw(version);
    } catch {
      return this.#watch.failed();
    }
  }
}
