import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { migrateToLatest, openDatabase } from '../../db/database.js';
import { closeServices, createServices } from '../../services.js';
import { formatTime, printTable } from '../output.js';

/** `clavis serve`, `clavis migrate`, `clavis keys list|rotate`. */
export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('Start the authorization server (runs migrations first)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clavis serve\n  $ PORT=9000 CLAVIS_DATABASE_URL=postgres://localhost/clavis clavis serve',
    )
    .action(async () => {
      const config = loadConfig();
      const { runServe } = await import('../serve.js');
      await runServe(config);
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ CLAVIS_DATABASE_URL=postgres://localhost/clavis clavis migrate')
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

  const keys = program.command('keys').description('Manage the token signing keys');
  keys
    .command('list')
    .description('List the published signing keys')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ clavis keys list')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const db = openDatabase(config.database);
      await migrateToLatest(db);
      const services = await createServices(config, db);
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
    .addHelpText('after', '\nExample:\n  $ clavis keys rotate')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const db = openDatabase(config.database);
      await migrateToLatest(db);
      const services = await createServices(config, db);
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
