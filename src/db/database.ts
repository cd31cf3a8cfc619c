import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import type { DatabaseConfig } from '../config/config.js';
import { markConnectionError } from './errors.js';
import { migrationProvider } from './migrations/index.js';
import { pgModule } from './pg-module.js';
import type { Database } from './schema.js';

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
    return { db, kind: 'sqlite', sqlite, close: () => db.destroy() };
  }
  const pool = new (pgModule().Pool)({
    connectionString: config.url,
    max: options.poolSize ?? 10,
    types: pgTypes,
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
    await sql`select 1`.execute(handle.db);
    const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
    const list = await migrator.getMigrations();
    return list.every((m) => m.executedAt !== undefined);
  } catch {
    return false;
  }
}
