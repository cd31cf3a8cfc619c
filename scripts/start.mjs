// `npm start`: builds only when the sources changed (scripts/build-if-stale.mjs), then runs `clavis serve` in
// this very process: it imports the bundle as `clavis serve` would run it (same argv), instead of spawning a
// second Node.js, which cost a Node start-up (50 ms idle, a few hundred on a busy machine) and its memory.
//
// Stopping: npm forwards SIGINT/SIGTERM to its script's process; package.json's `exec node scripts/start.mjs`
// makes that process this script rather than a shell (a shell died of the SIGTERM and left the server running
// on its own). Being the server, it gets them directly and stops as `clavis serve` does.
import { pathToFileURL } from 'node:url';
import { BUNDLE, buildIfStale, root } from './build-if-stale.mjs';

const built = buildIfStale();
if (built !== 0) process.exit(built);

const args = process.argv.slice(2);
process.argv = [process.argv[0], BUNDLE, 'serve', ...args];
process.chdir(root);
await import(pathToFileURL(BUNDLE).href);
