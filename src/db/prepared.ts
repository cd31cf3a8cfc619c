import type { CompiledQuery, QueryResult } from 'kysely';
import type { Db } from './database.js';

/** Marks where a named value goes in a {@link prepared} query's parameters. */
const SLOT = '\u0000clavis-slot:';

/**
 * A named placeholder for a value of a {@link prepared} query, typed as the value it stands for so the
 * builder accepts it.
 */
export function slot<T>(name: string): T {
  return `${SLOT}${name}` as unknown as T;
}

/** Where each compiled parameter comes from: a value by name, or a constant the builder put there. */
type Source = { name: string } | { value: unknown };

/**
 * A query built and compiled once per database, then run with new values: Kysely's query builder and
 * compiler cost more than running a small indexed query, which matters on the token endpoint's hot path.
 * The same builder code compiles for each dialect, so it stays one set of queries. SQLite's driver then
 * reuses the prepared statement per SQL text (`database.ts`), and PostgreSQL gets the same text each time.
 *
 * Build the query with {@link slot} wherever a value goes; {@link PreparedQuery.run} binds values by name, so
 * the order Kysely emits parameters in does not matter. A slot with no value given throws.
 *
 * @example
 * const findToken = prepared((db) =>
 *   db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', slot<string>('hash')),
 * );
 * const { rows } = await findToken.run(ctx.db, { hash });
 */
export interface PreparedQuery<R> {
  /** Runs the query on `db` (the database or a transaction of it) with these values. */
  run(db: Db, values: Readonly<Record<string, unknown>>): Promise<QueryResult<R>>;
}

/**
 * Prepares a query; see {@link PreparedQuery}. `build` is called once per database (the compiled text
 * depends on the dialect) with that database's root Kysely instance.
 */
export function prepared<R>(build: (db: Db) => { compile(): CompiledQuery<R> }): PreparedQuery<R> {
  // Keyed by the executor's adapter, which a database and its transactions share (one per dialect instance).
  const byAdapter = new WeakMap<object, { query: CompiledQuery<R>; sources: Source[] }>();
  const compileFor = (db: Db) => {
    const adapter = db.getExecutor().adapter;
    let entry = byAdapter.get(adapter);
    if (entry === undefined) {
      const query = build(db).compile();
      const sources = query.parameters.map(
        (p): Source =>
          typeof p === 'string' && p.startsWith(SLOT) ? { name: p.slice(SLOT.length) } : { value: p },
      );
      entry = { query, sources };
      byAdapter.set(adapter, entry);
    }
    return entry;
  };
  return {
    run(db, values) {
      const { query, sources } = compileFor(db);
      const parameters = sources.map((s) => {
        if ('value' in s) return s.value;
        const v = values[s.name];
        if (v === undefined) throw new Error(`prepared query: no value for slot "${s.name}"`);
        return v;
      });
      return db.executeQuery<R>({ ...query, parameters });
    },
  };
}
