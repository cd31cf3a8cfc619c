/**
 * Experiment only (not used by `npm run bench`): a `node --import` preload that gives better-sqlite3 a
 * prepared-statement cache, to measure what the fix suggested for src/db/database.ts would gain without
 * editing src/. Kysely's SqliteDriver calls `db.prepare(sql)` on every query; this returns a cached
 * Statement for SQL text it has seen before.
 *
 *   CLAVIS_PROFILE_NODE_ARGS="--import=./dist/bench/preload-stmt-cache.js" node dist/bench/profile.js
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as { prototype: { prepare(sql: string): unknown } };
const original = Database.prototype.prepare;
const caches = new WeakMap<object, Map<string, unknown>>();
Database.prototype.prepare = function prepare(this: object, sql: string) {
  let cache = caches.get(this);
  if (!cache) caches.set(this, (cache = new Map()));
  let stmt = cache.get(sql);
  if (stmt === undefined) {
    stmt = original.call(this, sql);
    if (cache.size >= 1000) cache.clear();
    cache.set(sql, stmt);
  }
  return stmt;
};
