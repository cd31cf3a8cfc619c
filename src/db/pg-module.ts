import { createRequire } from 'node:module';
import type pg from 'pg';

let loaded: typeof pg | undefined;

/**
 * The `pg` driver, loaded on first use: a server on SQLite never pays for importing it at start-up.
 * (`pg` is CommonJS, so it loads synchronously, as `openDatabase` needs.)
 */
export function pgModule(): typeof pg {
  loaded ??= createRequire(import.meta.url)('pg') as typeof pg;
  return loaded;
}
