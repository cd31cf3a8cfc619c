/**
 * A process-local signal that security-relevant state changed. With PostgreSQL, the server wires it to
 * LISTEN/NOTIFY so every node hears every change; caches subscribe to drop what they hold.
 */
export type ChangeTopic = 'client' | 'keys';

export interface ChangeFeed {
  /** Announce a change (locally and to other nodes). `key` is e.g. a client_id. */
  publish(topic: ChangeTopic, key: string): Promise<void>;
  subscribe(listener: (topic: ChangeTopic, key: string) => void): () => void;
}

/** A feed that only reaches this process (SQLite: one node). */
export class LocalChangeFeed implements ChangeFeed {
  readonly #listeners = new Set<(topic: ChangeTopic, key: string) => void>();

  async publish(topic: ChangeTopic, key: string): Promise<void> {
    this.emit(topic, key);
  }

  /** Delivers a change to local listeners without re-broadcasting it. */
  emit(topic: ChangeTopic, key: string): void {
    for (const l of this.#listeners) l(topic, key);
  }

  subscribe(listener: (topic: ChangeTopic, key: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
