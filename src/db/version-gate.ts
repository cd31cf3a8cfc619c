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
 * Reads are shared: a read starts in the check phase of the event loop (`setImmediate`), after the poll phase
 * has handed over every request that had arrived, and never while another read is in flight; everyone who
 * asked before it started waits for it. Under load that is one tiny query per turn of the event loop instead
 * of a lookup per request. Starting the next read the moment the last one answered, as this did before, split
 * each turn's requests over two reads: the ones parsed before the answer got one, the ones after it waited
 * for another.
 */
export class VersionGate {
  #current: Promise<boolean> | null = null;
  #next: Promise<boolean> | null = null;
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
    this.#next ??= new Promise<void>((resolve) => {
      const turn = () => setImmediate(resolve);
      if (this.#current) this.#current.then(turn, turn);
      else turn();
    }).then(() => {
      this.#next = null;
      return this.#start();
    });
    return this.#next;
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
