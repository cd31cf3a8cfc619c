#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';
import { registerAppsCommands } from './commands/apps.js';
import { registerLoginCommands } from './commands/login.js';
import { registerSecretsCommands } from './commands/secrets.js';
import { registerTokenCommand } from './commands/token.js';
import { CliError, EXIT_SERVER, EXIT_USER } from './output.js';

const program = new Command();
program
  .name('clavis')
  .description('Clavis: a self-hosted OAuth 2.0 authorization server with a developer hub')
  .option('--debug', 'print stack traces on errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// Remote commands skip loading the server's modules (about a second of imports on every call).
const REMOTE_COMMANDS = new Set(['token', 'login', 'logout', 'apps', 'secrets']);
const first = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (!first || !REMOTE_COMMANDS.has(first)) {
  const { registerServerCommands } = await import('./commands/server.js');
  const { registerOpsCommands } = await import('./commands/ops.js');
  registerServerCommands(program);
  registerOpsCommands(program);
}
registerTokenCommand(program);
registerLoginCommands(program);
registerAppsCommands(program);
registerSecretsCommands(program);

function fail(err: unknown): never {
  const debug = process.argv.includes('--debug');
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USER);
  if (err instanceof CliError || err instanceof ConfigError) {
    console.error(`clavis: ${err.message}`);
    if (debug) console.error(err.stack);
    process.exit(err instanceof CliError ? err.exitCode : EXIT_USER);
  }
  const e = err as Error & { code?: string };
  const msg =
    e?.code === 'ECONNREFUSED'
      ? 'could not reach the database or server (connection refused). Check the URL and that it is running.'
      : (e?.message ?? String(err));
  console.error(`clavis: ${msg}`);
  if (debug) console.error(e?.stack);
  else console.error('(run again with --debug for details)');
  process.exit(EXIT_SERVER);
}

program.parseAsync(process.argv).catch(fail);
