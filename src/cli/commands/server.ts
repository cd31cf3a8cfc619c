import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { ensureSecretKey } from '../../config/secret-key.js';
import { migrateToLatest, openDatabase } from '../../db/database.js';
import { closeServices, createServices } from '../../services.js';
import { formatTime, printTable } from '../output.js';
import { openExistingDeployment } from '../server-config.js';

const KEYS_HELP = `
The keys live in the database (CLAVIS_DATABASE_URL), sealed with the secret key (CLAVIS_SECRET_KEY or
secret.key beside a SQLite database). Both commands need an existing, migrated deployment: a wrong path is
an error, never a new deployment.

Examples:
  $ clavis keys list
  $ clavis keys rotate
  $ CLAVIS_DATABASE_URL=postgres://clavis@db.internal/clavis clavis keys list --json
`;

/** `clavis serve`, `clavis migrate`, `clavis keys list|rotate`. */
export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('Start the authorization server (runs migrations first)')
    .option('--json', 'print the start-up banner (URLs, generated admin password) as one JSON line')
    .addHelpText(
      'after',
      '\nConfiguration comes from the environment (PORT, HOST, CLAVIS_ISSUER, CLAVIS_DATABASE_URL, CLAVIS_SECRET_KEY, ...).\n\nExamples:\n  $ clavis serve\n  $ PORT=9000 CLAVIS_DATABASE_URL=postgres://clavis@db.internal/clavis clavis serve\n  $ CLAVIS_WORKERS=auto clavis serve --json',
    )
    .action(async (opts: { json?: boolean }) => {
      // The first start of a deployment creates its secret key file (beside a SQLite database).
      const config = ensureSecretKey(loadConfig());
      const { runServe } = await import('../serve.js');
      await runServe(config, { json: opts.json });
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit (creates a new SQLite database if none exists)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis migrate\n  $ CLAVIS_DATABASE_URL=postgres://clavis@db.internal/clavis clavis migrate --json',
    )
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const db = openDatabase(config.database);
      try {
        const applied = await migrateToLatest(db);
        if (opts.json) console.log(JSON.stringify({ applied }));
        else console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
      } finally {
        await db.close();
      }
    });

  const keys = program
    .command('keys')
    .description('Manage the token signing keys')
    .addHelpText('after', KEYS_HELP);
  keys
    .command('list')
    .description('List the published signing keys')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis keys list\n  $ clavis keys list --json | jq -r \'.[] | select(.status == "signing") | .kid\'',
    )
    .action(async (opts: { json?: boolean }) => {
      const { config, handle } = await openExistingDeployment();
      const services = await createServices(config, handle);
      try {
        const rows = services.keys.publishedKeys().map((k) => ({
          kid: k.kid,
          alg: k.alg,
          status: k.retiredAt === null ? 'signing' : 'retired (verify only)',
          created: formatTime(k.createdAt),
          retired: formatTime(k.retiredAt),
        }));
        if (opts.json) console.log(JSON.stringify(rows, null, 2));
        else printTable(rows, ['kid', 'alg', 'status', 'created', 'retired']);
      } finally {
        await closeServices(services);
      }
    });
  keys
    .command('rotate')
    .description('Create a new signing key; the old one keeps verifying until its tokens expire')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  $ clavis keys rotate\n  $ clavis keys rotate --json | jq -r .kid')
    .action(async (opts: { json?: boolean }) => {
      const { config, handle } = await openExistingDeployment();
      const services = await createServices(config, handle);
      try {
        const kid = await services.keys.rotate();
        if (opts.json) console.log(JSON.stringify({ kid }));
        else
          console.log(
            `New signing key ${kid} is active. Running servers switch within a minute (at once on PostgreSQL).`,
          );
      } finally {
        await closeServices(services);
      }
    });
}
