import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import type { DatabaseConfig } from '../config/config.js';
import { markConnectionError } from './errors.js';
import { migrationProvider } from './migrations/index.js';
import { pgModule } from './pg-module.js';
import type { Database } from './schema.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

export type Db = Kysely<Database>;

/** A connected database with what the rest of the server needs to know about it. */
export interface DatabaseHandle {
  db: Db;
  kind: DatabaseConfig['kind'];
  /** A raw pg pool (PostgreSQL only), for LISTEN/NOTIFY. */
  pgPool?: pg.Pool;
  /** The raw SQLite connection (SQLite only), for online backups. */
  sqlite?: SQLite.Database;
  close(): Promise<void>;
}

// int8 (bigint) columns hold epoch-millisecond timestamps, well inside Number's safe range.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return pgModule().types.getTypeParser(oid, format);
  },
};

/**
 * Kysely's SQLite driver prepares every query afresh; preparing costs more than running the query on the
 * token endpoint's hot path. Statements are reused per SQL text (Kysely runs each synchronously, so a
 * shared statement is never used twice at once). The cache is capped, since SQL texts with inlined
 * values could otherwise grow it without bound.
 */
function withStatementCache(sqlite: SQLite.Database): {
  close(): void;
  prepare(sql: string): SQLite.Statement;
} {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = sqlite.prepare(sql);
        if (cache.size >= 500) cache.clear();
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

/** The most SQL texts given a server-side name; later texts run unnamed (see {@link namedStatementClient}). */
const MAX_NAMED_STATEMENTS = 1000;

/**
 * A pg client class whose queries run as named prepared statements: PostgreSQL parses and plans a named
 * statement once per connection and then only binds and executes it, where an unnamed one is parsed and
 * planned on every run. On the token endpoint's small indexed queries that planning is a large share of the
 * server's work. Kysely sends the same text for the same query (`prepared.ts` compiles the hot ones once), so
 * each text gets one name for the life of the process; a text is named only from its second use, and only
 * the first {@link MAX_NAMED_STATEMENTS} texts, since texts built with inlined values or varying `IN` lists
 * could otherwise grow every connection's statement cache without bound. Only plain single DML statements
 * are named (never DDL, `BEGIN`/`COMMIT` or anything a migration runs before the tables it reads exist).
 */
function namedStatementClient(Base: typeof pg.Client): typeof pg.Client {
  const names = new Map<string, string>();
  const seen = new Set<string>();
  let counter = 0;
  const nameOf = (text: string): string | undefined => {
    const name = names.get(text);
    if (name !== undefined || names.size >= MAX_NAMED_STATEMENTS) return name;
    if (!/^\s*(select|insert|update|delete|with)\s/i.test(text)) return undefined;
    if (!seen.has(text)) {
      if (seen.size >= MAX_NAMED_STATEMENTS) seen.clear();
      seen.add(text);
      return undefined;
    }
    seen.delete(text);
    const fresh = `clavis_${++counter}`;
    names.set(text, fresh);
    return fresh;
  };
  class NamedStatementClient extends Base {}
  const query = Base.prototype.query as unknown as (this: pg.Client, ...a: unknown[]) => Promise<unknown>;
  // Kysely calls query(text, values) and expects a promise; every other form passes through unchanged.
  NamedStatementClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [text, values] = args;
    const name =
      typeof text === 'string' && Array.isArray(values) && args.length === 2 ? nameOf(text) : undefined;
    if (name === undefined) return query.apply(this, args);
    return query.call(this, { name, text, values }).catch((err: unknown) => {
      // A migration that changes a table under a prepared `SELECT *` (a rolling upgrade) makes PostgreSQL
      // refuse the old statement ("cached plan must not change result type", 0A000). The text is then
      // prepared afresh under a new name; outside a transaction the query is also retried at once.
      if ((err as { code?: string }).code !== '0A000') throw err;
      if (names.get(text as string) === name) names.delete(text as string);
      if (this.getTransactionStatus() !== 'I') throw err;
      return query.call(this, text, values);
    });
  } as unknown as typeof Base.prototype.query;
  return NamedStatementClient;
}

/**
 * Marks whatever stops the pool from handing out a connection (refused, timed out, a database that does not
 * accept connections, 55000) as an outage rather than a fault in the request. Every user of the pool goes
 * through `connect`: Kysely directly, `pool.query` with a callback.
 */
function markConnectFailures(pool: pg.Pool): void {
  type Callback = (
    err: Error | undefined,
    client?: pg.PoolClient,
    done?: (release?: unknown) => void,
  ) => void;
  const connect = pool.connect.bind(pool) as (cb?: Callback) => Promise<pg.PoolClient> | undefined;
  (pool as { connect: (cb?: Callback) => Promise<pg.PoolClient> | undefined }).connect = (cb?: Callback) =>
    cb
      ? connect((err, client, done) => cb(err ? markConnectionError(err) : err, client, done))
      : connect()?.catch((err: unknown) => Promise.reject(markConnectionError(err)));
}

/**
 * Opens the database described by `config`.
 *
 * @param config From {@link loadConfig}; `sqlite:` paths get their directory created.
 * @param options.searchPath PostgreSQL schema to use (tests isolate themselves this way).
 */
export function openDatabase(
  config: DatabaseConfig,
  options: { searchPath?: string; poolSize?: number } = {},
): DatabaseHandle {
  if (config.kind === 'sqlite') {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    const sqlite = new SQLite(config.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    const checkpointer = config.path === ':memory:' ? null : new SqliteCheckpointer(sqlite, config.path);
    const close = async () => {
      await checkpointer?.close();
      await db.destroy();
    };
    return { db, kind: 'sqlite', sqlite, close };
  }
  const pool = new (pgModule().Pool)({
    connectionString: config.url,
    max: options.poolSize ?? 10,
    types: pgTypes,
    Client: namedStatementClient(pgModule().Client),
    options: options.searchPath ? `-c search_path=${options.searchPath}` : undefined,
    // A server that does not answer (network down) fails the request instead of holding it forever.
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that errors (server restart) must not crash the process.
  pool.on('error', () => {});
  markConnectFailures(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', pgPool: pool, close: () => db.destroy() };
}

/** Largest SQLite file {@link openDatabaseReadOnly} copies into memory (larger ones are opened read-only in place). */
const MAX_MEMORY_COPY = 256 * 1024 * 1024;

/**
 * Opens an existing database without writing to it. SQLite (the file must exist): a read-only connection; when
 * no `-wal` file exists (the database is fully checkpointed), an in-memory copy instead, so not even SQLite's
 * `-wal`/`-shm` side files are created. PostgreSQL: an ordinary connection of a pool of one (nothing is created
 * by connecting).
 */
export function openDatabaseReadOnly(config: DatabaseConfig): DatabaseHandle {
  if (config.kind !== 'sqlite') return openDatabase(config, { poolSize: 1 });
  const path = config.path;
  let sqlite: SQLite.Database;
  if (!existsSync(`${path}-wal`) && statSync(path).size <= MAX_MEMORY_COPY) {
    const bytes = readFileSync(path);
    // Header bytes 18-19 are 2 in WAL mode; an in-memory copy can only be opened in rollback mode.
    if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
    sqlite = new SQLite(bytes, { readonly: true });
  } else {
    sqlite = new SQLite(path, { readonly: true, fileMustExist: true });
    sqlite.pragma('busy_timeout = 5000');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, kind: 'sqlite', sqlite, close: () => db.destroy() };
}

/** Resolves when the database answers a trivial query; rejects with the driver's error when it does not. */
export async function ping(handle: DatabaseHandle): Promise<void> {
  await sql`select 1`.execute(handle.db);
}

/** Applies every pending migration. Safe to run concurrently from several nodes on PostgreSQL. */
export async function migrateToLatest(handle: DatabaseHandle): Promise<string[]> {
  const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when the database answers and no migration is pending. */
export async function isReady(handle: DatabaseHandle): Promise<boolean> {
  try {
    await ping(handle);
    const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
    const list = await migrator.getMigrations();
    return list.every((m) => m.executedAt !== undefined);
  } catch {
    return false;
  }
}
