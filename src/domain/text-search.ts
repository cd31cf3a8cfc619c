import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';

/**
 * Whether a text column contains `text`, ignoring case: `lower(column) LIKE '%text%'` with the pattern's
 * own `%`, `_` and `\` escaped. The ESCAPE clause is needed on SQLite, which has no default escape
 * character; PostgreSQL's default is the same backslash, so one query serves both.
 */
export function containsText(column: Expression<string>, text: string): RawBuilder<SqlBool> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<SqlBool>`lower(${column}) like ${pattern} escape '\\'`;
}
