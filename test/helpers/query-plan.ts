import { sql } from 'kysely';
import type { DomainContext } from '../../src/domain/context.js';

/**
 * The plan the database would run `query` with, as text. On PostgreSQL sequential scans are switched off
 * for it: the planner prefers a scan on a test-sized table, and the question is whether an index serves.
 */
export async function queryPlan(ctx: DomainContext, query: string): Promise<string> {
  if (ctx.config.database.kind === 'postgres') {
    const rows = await ctx.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      return (await sql<{ 'QUERY PLAN': string }>`explain ${sql.raw(query)}`.execute(trx)).rows;
    });
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }
  const rows = (await sql<{ detail: string }>`explain query plan ${sql.raw(query)}`.execute(ctx.db)).rows;
  return rows.map((r) => r.detail).join('\n');
}
