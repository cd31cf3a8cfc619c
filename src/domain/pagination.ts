import type { SelectQueryBuilder } from 'kysely';
import { invalid } from './errors.js';

/**
 * Keyset pagination for every list the API and hub page through: newest first, ordered by
 * (`created_at`, `id`) so rows created in the same millisecond keep a stable order, with an opaque cursor
 * naming the last row of the previous page. Unlike offsets, a page never repeats or skips rows when rows
 * are added meanwhile.
 */

/** What a caller asks for: a page size (default 50, clamped to 1..200) and the previous page's cursor. */
export interface PageRequest {
  limit?: number;
  cursor?: string;
}

/** One page; `next_cursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** The columns a keyset-paged table orders by. */
interface Keyed {
  created_at: number;
  id: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** The page size to use for a requested `limit`. */
export function pageSize(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
}

/** The cursor after a row: base64url of `[created_at, id]`. */
export function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

/** @throws DomainError `cursor_invalid` on anything {@link encodeCursor} did not make. */
export function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string')
      return [v[0], v[1]];
  } catch {}
  throw invalid('cursor', 'The cursor is not valid; use a next_cursor value as given.', 'cursor_invalid');
}

/**
 * Runs a single-table query as one page: adds the keyset condition for the cursor, the order and a limit
 * one above the page size (the extra row, dropped, tells whether another page follows), and maps each row.
 *
 * @param query A selection from one table with `created_at` and `id` columns, filters applied.
 * @throws DomainError `cursor_invalid` on a malformed cursor.
 */
export async function keysetPage<DB, TB extends keyof DB, O extends Keyed, T>(
  query: SelectQueryBuilder<DB, TB, O>,
  request: PageRequest,
  map: (row: O) => T,
): Promise<Page<T>> {
  const limit = pageSize(request.limit);
  // Every paged table has these two columns; Kysely cannot see that through the generic table type.
  let q = query as unknown as SelectQueryBuilder<{ paged: Keyed }, 'paged', O>;
  if (request.cursor) {
    const [at, id] = decodeCursor(request.cursor);
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]),
    );
  }
  const rows = (await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()) as O[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(map),
    next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
}
