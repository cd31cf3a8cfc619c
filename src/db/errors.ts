/**
 * Classifies database errors: which ones mean "the database cannot be reached right now" (an outage the
 * caller should retry after) rather than a fault in the request or the code.
 */

/** Socket-level failures, from Node (pg's connections) or the pool. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs for an unreachable or refusing server: class 08 (connection exception), 53300
 * (too_many_connections), 57P01-57P03 (admin/crash shutdown, cannot connect now).
 */
function isPgUnavailable(code: string): boolean {
  return code.startsWith('08') || code === '53300' || /^57P0[123]$/.test(code);
}

/** SQLite result codes for a database that is busy or locked beyond the busy timeout, or cannot be read. */
const SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|NOTADB|PROTOCOL)(_|$)/;

/** Messages of pg, pg-pool and better-sqlite3 errors that carry no code. */
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'The database connection is not open',
];

const MARK = Symbol.for('clavis.databaseUnavailable');

/**
 * Marks an error as a failure to reach the database (e.g. any error while acquiring a pooled connection,
 * whatever its code: a database that refuses connections answers 55000 on PostgreSQL).
 */
export function markConnectionError<E>(err: E): E {
  if (err !== null && typeof err === 'object') (err as Record<symbol, boolean>)[MARK] = true;
  return err;
}

/**
 * True when `err` means the database is unreachable, refusing connections, shutting down, out of
 * connections, or (SQLite) busy, locked or unreadable: the request may succeed if retried later.
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  if ((err as Record<symbol, unknown>)[MARK] === true) return true;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLITE_CODES.test(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isPgUnavailable(code)) return true;
  }
  if (typeof message === 'string' && MESSAGES.some((m) => message.includes(m))) return true;
  // AggregateError (a connect to several addresses that all failed) and wrapped causes.
  const nested = (err as { errors?: unknown; cause?: unknown }).errors;
  if (Array.isArray(nested) && nested.length > 0 && nested.every((e) => isConnectionError(e, depth + 1)))
    return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && isConnectionError(cause, depth + 1);
}

/**
 * True when the database refused a text value it cannot store: PostgreSQL's 22021
 * (character_not_in_repertoire: a NUL byte) or 22P05 (untranslatable_character). A fault in the request.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** Whether a write failed on a unique or primary key constraint (SQLite, PostgreSQL SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
