/**
 * The last version a freshness gate read, and who to tell when it moves: shared by the PostgreSQL
 * {@link VersionGate} and the {@link SqliteVersionGate}.
 */
export class VersionWatch {
  #seen: unknown;
  readonly #listeners = new Set<() => void>();

  constructor(initial?: unknown) {
    this.#seen = initial;
  }

  /** Called whenever the version moved (or could not be read): drop everything cached. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records a successful read; tells the listeners if the version moved. Returns true (caches may be used). */
  saw(version: unknown): true {
    if (version !== this.#seen) {
      this.#seen = version;
      this.#emit();
    }
    return true;
  }

  /** Records a failed read: nothing cached can be trusted. Returns false (callers go to the database). */
  failed(): false {
    this.#seen = undefined;
    this.#emit();
    return false;
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }
}
