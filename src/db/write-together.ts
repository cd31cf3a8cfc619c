import { type OperationNodeSource, PostgresAdapter, sql } from 'kysely';
import type { Db } from './database.js';

/**
 * Runs several writes that return nothing (inserts, updates, deletes) as one statement where the database
 * allows it. On PostgreSQL they become one statement with data-modifying CTEs
 * (`WITH w0 AS (INSERT …) INSERT …`): one round trip to the server instead of one per write, which is the
 * whole cost of a small indexed write there. All of them see the same snapshot and none sees another's rows
 * (PostgreSQL docs, "Data-Modifying Statements in WITH"), so only independent writes belong together: never
 * one that reads what another writes. SQLite runs in-process and has no such CTEs, so its writes run one
 * after another on the same connection (or transaction).
 *
 * Pass a transaction as `db` to make them part of a change; either way they commit or fail together.
 */
export async function executeTogether(db: Db, writes: readonly OperationNodeSource[]): Promise<void> {
  if (writes.length === 0) return;
  if (writes.length === 1 || !(db.getExecutor().adapter instanceof PostgresAdapter)) {
    for (const w of writes) await sql`${w}`.execute(db);
    return;
  }
  const last = writes.length - 1;
  // Each write compiled inside one template, so Kysely numbers the parameters of all of them in one sequence.
  const ctes = sql.join(
    writes.slice(0, last).map((w, i) => sql`${sql.raw(`w${i}`)} AS (${w})`),
    sql`, `,
  );
  await sql`WITH ${ctes} ${writes[last]}`.execute(db);
}
