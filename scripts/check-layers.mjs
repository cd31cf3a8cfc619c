#!/usr/bin/env node
/**
 * The layering rules of the developers' guide, checked by `npm run lint`:
 *
 * - Layers import downwards only: surfaces (src/http, src/hub, src/web, src/cli, src/auth) → protocol
 *   (src/oauth) → domain (src/domain, src/keys) → storage (src/db) → foundation (src/config, src/crypto,
 *   src/mail).
 *   Type-only imports count too. The wiring at the top (src/services.ts, src/features.ts, src/start.ts,
 *   src/maintenance.ts) may import anything, and anything may import the `Services` type from it.
 * - Surfaces and the protocol layer hold no SQL: no Kysely `selectFrom`, `insertInto`, `updateTable` or
 *   `deleteFrom` in the surfaces or anywhere in src/oauth (the domain owns every table's queries). The
 *   protocol layer and the surfaces (but auth's two stores) import only types from Kysely, so raw `sql`
 *   templates and Kysely handles of their own stay out of them too.
 *
 * Prints one line per violation and exits 1 when there is any.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** Rank of each layer by directory under src/ (higher imports lower, never the reverse). */
const LAYERS = [
  { name: 'foundation', rank: 0, dirs: ['config', 'crypto', 'mail'] },
  { name: 'storage', rank: 1, dirs: ['db'] },
  { name: 'domain', rank: 2, dirs: ['domain', 'keys'] },
  { name: 'protocol', rank: 3, dirs: ['oauth'] },
  { name: 'surface', rank: 4, dirs: ['http', 'hub', 'web', 'cli', 'auth'] },
];
const NO_SQL = [/^(http|hub|web|cli|auth)\//, /^oauth\//];
// `auth/` holds the session store, a single-purpose store in its own file; it is exempt from the SQL rule.
const SQL_STORES = [/^auth\/session\.ts$/, /^auth\/throttle\.ts$/];
const SQL = /\.\s*(selectFrom|insertInto|updateTable|deleteFrom)\s*\(/g;
/** Where only type imports from Kysely are allowed (no `sql` template, no query builder of one's own). */
const KYSELY_TYPES_ONLY = [/^(http|hub|web|cli)\//, /^oauth\//];
const KYSELY_IMPORT = /\bimport\s+(type\s+)?([^'"]*?)\s+from\s+['"]kysely['"]/g;
const IMPORT =
  /(?:\bimport|\bexport)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The layer of a path relative to src/, or undefined for the wiring and anything unranked. */
function layerOf(rel) {
  const top = rel.split('/')[0];
  return LAYERS.find((l) => l.dirs.includes(top));
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** Strips comments so that prose mentioning an import or a query builder is not counted. */
function code(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const problems = [];
for (const file of sourceFiles(src)) {
  const rel = relative(src, file).split('\\').join('/');
  const text = code(readFileSync(file, 'utf8'));
  const lineOf = (index) => text.slice(0, index).split('\n').length;
  const from = layerOf(rel);
  if (from) {
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = relative(src, resolve(dirname(file), spec))
        .split('\\')
        .join('/');
      const to = layerOf(target);
      if (to && to.rank > from.rank)
        problems.push(
          `src/${rel}:${lineOf(m.index)}: ${from.name} imports ${to.name} (src/${target.replace(/\.js$/, '.ts')})`,
        );
    }
  }
  if (NO_SQL.some((re) => re.test(rel)) && !SQL_STORES.some((re) => re.test(rel))) {
    for (const m of text.matchAll(SQL))
      problems.push(`src/${rel}:${lineOf(m.index)}: ${m[1]} outside the domain and the stores`);
  }
  if (KYSELY_TYPES_ONLY.some((re) => re.test(rel))) {
    for (const m of text.matchAll(KYSELY_IMPORT)) {
      if (m[1]) continue; // import type { ... }
      const names = m[2]
        .replace(/[{}]/g, '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      if (names.some((n) => !n.startsWith('type ')))
        problems.push(`src/${rel}:${lineOf(m.index)}: a value import from kysely above the storage layer`);
    }
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} layering problem(s): see "How the code is laid out" in README.md.`);
  process.exit(1);
}
console.log('Layers: no upward imports, no SQL in the surfaces or the protocol layer.');
