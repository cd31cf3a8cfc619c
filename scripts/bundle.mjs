// Bundles the built CLI (dist/src/cli/main.js, from tsc) into dist/bin/: `clavis` and `npm start` run this.
//
// Why: the server's module graph is about 1,100 files (kysely and TypeBox alone are 500). Node's ESM loader
// resolves, reads and links each one, which took about half of start to ready (900 ms -> 450 ms bundled) and
// left their module records resident (idle RSS about 85 MB -> 71 MB). Dynamic imports stay separate chunks,
// so the remote CLI commands still skip the server's modules, and the lazily loaded parts stay lazy.
//
// Left outside the bundle, loaded from node_modules at run time:
// - better-sqlite3 and pg: native addon / optional, found through `bindings` and createRequire;
// - @fastify/swagger-ui: serves its static files from its own package directory;
// - Ajv and fast-json-stringify: loaded through createRequire only when a route first compiles a schema.
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = 'dist/bin';
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { clavis: 'dist/src/cli/main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pg', '@fastify/swagger-ui'],
  // Bundled CommonJS packages call require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js: "import { createRequire as __clavisRequire } from 'node:module'; const require = __clavisRequire(import.meta.url);",
  },
  // Whitespace and syntax only: the source text of every loaded chunk stays in V8's heap for as long as the
  // process runs (about 4.6 MB of it unminified), and less of it parses faster. Identifiers keep their
  // names, so stack traces still name the functions (their line and column point into the bundle).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
chmodSync(`${outdir}/clavis.js`, 0o755);
