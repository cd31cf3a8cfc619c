import { sql } from 'kysely';
import type pg from 'pg';
import { type ChangeFeed, type ChangeTopic, LocalChangeFeed } from './change-feed.js';
import type { Db } from './database.js';
import { pgModule } from './pg-module.js';

const CHANNEL = 'clavis_changes';

/**
 * The change feed on PostgreSQL. `announce` bumps the shared change version inside the changing
 * transaction (what makes caches exact, see src/db/version-gate.ts) and sends a NOTIFY; once `start`ed, a
 * LISTEN connection delivers other nodes' notices here too (signing-key rotations, early cache drops). The
 * listener reconnects on its own.
 */
export class PgChangeFeed implements ChangeFeed {
  readonly #local = new LocalChangeFeed();
  #client: pg.Client | null = null;
  #closed = false;
  #connected = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
  ) {}

  /** Whether the LISTEN connection is up. */
  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    const client = new (pgModule().Client)({ connectionString: this.url });
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      const sep = msg.payload.indexOf(':');
      if (sep === -1) return;
      this.#local.emit(msg.payload.slice(0, sep) as ChangeTopic, msg.payload.slice(sep + 1));
    });
    client.on('error', () => this.#reconnect());
    client.on('end', () => this.#reconnect());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#client = client;
    this.#connected = true;
    // Changes made while the listener was down were missed: every cache starts over.
    this.#local.emit('client', '*');
    this.#local.emit('revoked', '*');
  }

  #reconnect(): void {
    this.#connected = false;
    if (this.#closed || this.#retry) return;
    this.#client = null;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.start().catch(() => this.#reconnect());
    }, 1000);
    this.#retry.unref();
  }

  async announce(db: Db, topic: ChangeTopic, key: string): Promise<void> {
    // The version bump is what makes other nodes' caches exact (src/db/version-gate.ts); the NOTIFY only
    // lets them drop entries early and reload signing keys.
    await sql`update change_version set version = version + 1 where id = 1`.execute(db);
    await sql`select pg_notify(${CHANNEL}, ${`${topic}:${key}`})`.execute(db);
  }

  async publish(topic: ChangeTopic, key: string): Promise<void> {
    // Delivered to this node directly; NOTIFY reaches the others (and echoes here, harmlessly).
    this.#local.emit(topic, key);
    await this.pool.query('select pg_notify($1, $2)', [CHANNEL, `${topic}:${key}`]);
  }

  subscribe(listener: (topic: ChangeTopic, key: string) => void): () => void {
    return this.#local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
  }
}
