#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';
import { registerApisCommands } from './commands/apis.js';
import { registerAppsCommands } from './commands/apps.js';
import { registerLoginCommands } from './commands/login.js';
import { registerSecretsCommands } from './commands/secrets.js';
import { registerTokenCommand } from './commands/token.js';
import { CliError, EXIT_SERVER, EXIT_USER } from './output.js';

const TOP_EXAMPLES = `
Every command takes --json (machine-readable output, errors too) and --help (with examples).
Exit codes: 0 success, 1 user error (fix the command or configuration), 2 server error (try again later).

Examples:
  $ clavis serve                                        # start the server (SQLite in ./data)
  $ clavis doctor                                       # check configuration, database, keys and clock
  $ clavis login --server https://auth.example.com      # sign in through the browser
  $ clavis apps list                                    # the apps you manage, with their client_id
  $ clavis secrets add 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --expires-in-months 12
  $ CLAVIS_CLIENT_ID=3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 clavis token --scope contacts:read
  $ clavis apis create --identifier https://orders.example.com --name "Orders API" --scope orders:read
  $ clavis token --resource https://orders.example.com --scope orders:read
`;

const program = new Command();
program
  .name('clavis')
  .description('Clavis: a self-hosted OAuth 2.0 authorization server with a developer hub')
  .option('--debug', 'print stack traces on errors')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', TOP_EXAMPLES)
  .exitOverride();

// Remote commands skip loading the server's modules (about a second of imports on every call).
const REMOTE_COMMANDS = new Set(['token', 'login', 'logout', 'apps', 'secrets', 'apis']);
const first = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (first === 'serve') {
  // Before the server's modules load; `clavis serve` hands the sizing back once it listens.
  const { holdYoungGeneration } = await import('./startup-heap.js');
  holdYoungGeneration();
}
if (!first || !REMOTE_COMMANDS.has(first)) {
  const { registerServerCommands } = await import('./commands/server.js');
  const { registerOpsCommands } = await import('./commands/ops.js');
  const { registerNotifyCommand } = await import('./commands/notify.js');
  registerServerCommands(program);
  registerOpsCommands(program);
  registerNotifyCommand(program);
}
registerTokenCommand(program);
registerLoginCommands(program);
registerAppsCommands(program);
registerApisCommands(program);
registerSecretsCommands(program);

/** With --json, errors are also printed on stdout as one JSON object, so scripts can tell them apart. */
function printJsonError(code: string, message: string, exitCode: number): void {
  if (!process.argv.slice(2).includes('--json')) return;
  process.stdout.write(`${JSON.stringify({ error: code, message, exit_code: exitCode })}\n`);
}

function fail(err: unknown): never {
  const debug = process.argv.includes('--debug');
  if (err instanceof CommanderError) {
    // Commander has printed its message on stderr already (or the help, for exit code 0).
    if (err.exitCode === 0) process.exit(0);
    printJsonError('usage', err.message.replace(/^error: /, ''), EXIT_USER);
    process.exit(EXIT_USER);
  }
  if (err instanceof CliError || err instanceof ConfigError) {
    const exitCode = err instanceof CliError ? err.exitCode : EXIT_USER;
    console.error(`clavis: ${err.message}`);
    if (debug) console.error(err.stack);
    printJsonError(err instanceof CliError ? err.code : 'config', err.message, exitCode);
    process.exit(exitCode);
  }
  const e = err as Error & { code?: string };
  const msg =
    e?.code === 'ECONNREFUSED'
      ? 'could not reach the database or server (connection refused). Check the URL and that it is running.'
      : (e?.message ?? String(err));
  if (debug) console.error(`clavis: ${msg}\n${e?.stack}`);
  else console.error(`clavis: ${msg} (run again with --debug for details)`);
  printJsonError(e?.code === 'ECONNREFUSED' ? 'unreachable' : 'server_error', msg, EXIT_SERVER);
  process.exit(EXIT_SERVER);
}

// console.log ignores write errors, so a full disk or a closed pipe lost the output (a secret shown once, a
// token) and the command still exited 0. The first such error is reported and the exit code says it.
let outputLost = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (outputLost) return;
  outputLost = true;
  process.stderr.write(
    `clavis: could not write the output (${err.code ?? err.message}); what it held, such as a secret shown once, is lost.\n`,
  );
  process.exitCode = EXIT_USER;
});

program.parseAsync(process.argv).catch(fail);
