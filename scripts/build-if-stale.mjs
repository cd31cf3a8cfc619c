// Builds (npm run build) only when a source is newer than the bundle that `npm start` and `clavis` run:
// a start on an unchanged tree then takes the server's half second, not the build's 20 s.
//
// Sources: src/, packages/client/src, package.json, packages/client/package.json, the tsconfig files and
// scripts/bundle.mjs. The build's last step writes dist/bin/clavis.js, so its mtime marks a complete build.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(root, 'dist', 'bin', 'clavis.js');
const SOURCES = [
  'src',
  'packages/client/src',
  'package.json',
  'packages/client/package.json',
  'packages/client/tsconfig.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/bundle.mjs',
];

/** The newest mtime (ms) under `path` (a file or a directory, recursively); 0 when it does not exist. */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

/** Why a build is needed (a sentence), or null when dist/bin/clavis.js is newer than every source. */
export function staleReason(base = root) {
  const built = newest(join(base, 'dist', 'bin', 'clavis.js'));
  if (built === 0) return 'no build yet';
  for (const source of SOURCES)
    if (newest(join(base, source)) > built) return `${source} changed since the last build`;
  return null;
}

/** Runs `npm run build` when the build is stale; returns the build's exit code (0 when none was needed). */
export function buildIfStale() {
  const reason = staleReason();
  if (!reason) return 0;
  process.stderr.write(`Building (${reason})...\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exit(buildIfStale());
