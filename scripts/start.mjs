// `npm start`: builds only when the sources changed (scripts/build-if-stale.mjs), then runs `clavis serve`
// as a child that gets every stop signal this process gets. npm forwards SIGINT/SIGTERM to its script's
// process; package.json's `exec node scripts/start.mjs` makes that process this script rather than a shell
// (a shell died of the SIGTERM and left the server running on its own). Forwarding them (and SIGHUP) to the
// server and exiting with it means stopping `npm start` stops the server.
import { spawn } from 'node:child_process';
import { BUNDLE, buildIfStale, root } from './build-if-stale.mjs';

const built = buildIfStale();
if (built !== 0) process.exit(built);

const server = spawn(process.execPath, [BUNDLE, 'serve', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(signal, () => {
    // Ctrl-C reaches the server directly too (same process group); it stops once either way.
    if (server.exitCode === null && server.signalCode === null) server.kill(signal);
  });
server.on('error', (err) => {
  process.stderr.write(`npm start: could not run the server: ${err.message}\n`);
  process.exit(1);
});
server.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
