import type { Db } from './database.js';

/**
 * A process-local signal that security-relevant state changed. With PostgreSQL, the server wires it to
 * LISTEN/NOTIFY so every node hears every change; caches subscribe to drop what they hold.
 */
export type ChangeTopic = 'client' | 'keys' | 'revoked' | 'api';

export interface ChangeFeed {
  /**
   * Announce a change from inside the transaction that makes it, so other nodes hear of it exactly when it
   * commits (PostgreSQL NOTIFY is transactional) and never miss it because a later step failed.
   */
  announce(db: Db, topic: ChangeTopic, key: string): Promise<void>;
  /** Announce a change after it is committed: drops this process's caches (and tells other nodes). */
  publish(topic: ChangeTopic, key: string): Promise<void>;
  subscribe(listener: (topic: ChangeTopic, key: string) => void): () => void;
}

/** A feed that only reaches this process (SQLite: one node). */
export class LocalChangeFeed implements ChangeFeed {
  readonly #listeners = new Set<(topic: ChangeTopic, key: string) => void>();

  async announce(): Promise<void> {}

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
