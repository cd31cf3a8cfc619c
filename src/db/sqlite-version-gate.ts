import type SQLite from 'better-sqlite3';
import { VersionWatch } from './version-watch.js';

/**
 * Freshness for caches of security state on SQLite, where cluster workers and the CLI write to the same
 * database file: the SQLite counterpart of {@link VersionGate}.
 *
 * `PRAGMA data_version` changes whenever another connection commits. Reading it opens a read transaction
 * (file locks, a few microseconds of system calls), which every token request paid when each read it on its
 * own. Here reads are shared the way the PostgreSQL gate shares its version query: a caller waits for a read
 * that starts after its call, run once for everyone who asked in the same turn of the event loop (in the
 * check phase, after the poll phase has handed over every request that had arrived). So anything committed
 * before a request reached this process is seen by it, exactly as if it had read the database itself, and
 * a busy node does one read per turn instead of one per request.
 */
export class SqliteVersionGate {
  readonly #stmt: SQLite.Statement;
  readonly #watch: VersionWatch;
  #pending: Promise<boolean> | null = null;

  constructor(sqlite: SQLite.Database) {
    this.#stmt = sqlite.prepare('PRAGMA data_version').pluck();
    this.#watch = new VersionWatch(this.#stmt.get());
  }

  /** Called whenever another connection committed (or the version can't be read): drop everything cached. */
  onChange(listener: () => void): () => void {
    return this.#watch.onChange(listener);
  }

  /**
   * Resolves once a version read that began after this call has finished: true if caches may be used,
   * false if the read failed (callers then go to the database).
   */
  check(): Promise<boolean> {
    this.#pending ??= new Promise<boolean>((resolve) => {
      setImmediate(() => {
        this.#pending = null;
        resolve(this.#read());
      });
    });
    return this.#pending;
  }

  #read(): boolean {
    try {
      return this.#watch.saw(this.#stmt.get());
    } catch {
      return this.#watch.failed();
    }
  }
}
