import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { sql } from 'kysely';
import { loadConfig } from '../../config/config.js';
import { SealedBox } from '../../crypto/sealed-box.js';
import { isReady, openDatabase } from '../../db/database.js';
import { CliError, EXIT_SERVER } from '../output.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Largest clock difference with the database server that `doctor` accepts (tokens carry iat/exp). */
const MAX_SKEW_MS = 30_000;

/** `clavis doctor` and `clavis backup`. */
export function registerOpsCommands(program: Command): void {
  program
    .command('doctor')
    .description('Check configuration, database, signing keys and clock')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ CLAVIS_DATABASE_URL=postgres://localhost/clavis clavis doctor')
    .action(async (opts: { json?: boolean }) => {
      const checks: Check[] = [];
      let config: ReturnType<typeof loadConfig>;
      try {
        config = loadConfig();
        checks.push({
          name: 'configuration',
          ok: true,
          detail: `issuer ${config.issuer}, ${config.database.kind}`,
        });
        if (config.secretKeySource !== 'env')
          checks.push({
            name: 'secret key',
            ok: true,
            detail: `from ${config.secretKeyFile} (set CLAVIS_SECRET_KEY in production)`,
          });
        if (
          !config.issuer.startsWith('https:') &&
          !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(config.issuer)
        )
          checks.push({
            name: 'issuer',
            ok: false,
            detail: 'CLAVIS_ISSUER must use https outside local development',
          });
      } catch (err) {
        checks.push({ name: 'configuration', ok: false, detail: (err as Error).message });
        return report(checks, opts.json);
      }
      const handle = openDatabase(config.database);
      try {
        const ready = await isReady(handle);
        checks.push({
          name: 'database',
          ok: ready,
          detail: ready
            ? 'reachable, migrations applied'
            : 'unreachable or migrations pending (run `clavis migrate`)',
        });
        if (ready) {
          const keys = await handle.db.selectFrom('signing_keys').selectAll().execute();
          const active = keys.filter((k) => k.retired_at === null);
          const box = new SealedBox(config.secretKey);
          let readable = 0;
          for (const k of keys) {
            try {
              box.open(k.private_key_enc, `signing-key:${k.kid}`);
              readable++;
            } catch {}
          }
          checks.push({
            name: 'signing keys',
            ok: readable === keys.length && active.length <= 1,
            detail:
              keys.length === 0
                ? 'none yet (created on first start)'
                : readable < keys.length
                  ? `${keys.length - readable} of ${keys.length} keys cannot be decrypted: is CLAVIS_SECRET_KEY the one they were made with?`
                  : `${active.length} active, ${keys.length - active.length} retired`,
          });
          const dbNow =
            handle.kind === 'postgres'
              ? Number(
                  (
                    await sql<{
                      ms: string;
                    }>`select (extract(epoch from clock_timestamp()) * 1000)::bigint as ms`.execute(handle.db)
                  ).rows[0]!.ms,
                )
              : null;
          if (dbNow !== null) {
            const skew = Math.abs(Date.now() - dbNow);
            checks.push({
              name: 'clock',
              ok: skew <= MAX_SKEW_MS,
              detail: `${skew} ms from the database server's clock${skew > MAX_SKEW_MS ? ': synchronise with NTP' : ''}`,
            });
          } else {
            const newest = await handle.db
              .selectFrom('audit_events')
              .select((eb) => eb.fn.max('created_at').as('at'))
              .executeTakeFirst();
            const at = Number(newest?.at ?? 0);
            checks.push({
              name: 'clock',
              ok: at <= Date.now() + MAX_SKEW_MS,
              detail:
                at > Date.now() + MAX_SKEW_MS
                  ? 'the newest audit event is in the future: this clock is behind'
                  : `system time ${new Date().toISOString()}`,
            });
          }
        }
      } catch (err) {
        checks.push({ name: 'database', ok: false, detail: (err as Error).message });
      } finally {
        await handle.close().catch(() => {});
      }
      return report(checks, opts.json);
    });

  program
    .command('backup <file>')
    .description('Write an online, consistent copy of the SQLite database')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ clavis backup ./backups/clavis-$(date +%F).db')
    .action(async (file: string, opts: { json?: boolean }) => {
      const config = loadConfig();
      if (config.database.kind !== 'sqlite')
        throw new CliError('backup copies SQLite databases; for PostgreSQL use pg_dump.');
      const target = resolve(file);
      if (existsSync(target)) throw new CliError(`${target} exists already; choose a new file name.`);
      if (!existsSync(config.database.path))
        throw new CliError(`no database at ${config.database.path}; check CLAVIS_DATABASE_URL.`);
      const handle = openDatabase(config.database);
      try {
        // better-sqlite3's backup uses SQLite's online backup API: consistent while the server runs.
        const r = await handle.sqlite!.backup(target);
        if (opts.json) console.log(JSON.stringify({ file: target, pages: r.totalPages }));
        else console.log(`Backed up ${config.database.path} to ${target} (${r.totalPages} pages).`);
      } catch (err) {
        throw new CliError(`backup failed: ${(err as Error).message}`, EXIT_SERVER);
      } finally {
        await handle.close();
      }
    });
}

function report(checks: Check[], json?: boolean): void {
  const ok = checks.every((c) => c.ok);
  if (json) console.log(JSON.stringify({ ok, checks }, null, 2));
  else for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(13)} ${c.detail}`);
  if (!ok) process.exitCode = 1;
}
