import { chmodSync, closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { type DatabaseHandle, isReady, openDatabase } from '../../db/database.js';
import { databaseClock, newestStoredTimestamp, signingKeyReport } from '../../domain/maintenance-report.js';
import { KEY_ALGS } from '../../keys/key-store.js';
import { CliError, EXIT_SERVER, EXIT_USER } from '../output.js';
import {
  checkReachable,
  type ExistingConfig,
  loadExistingConfig,
  missingSecretKey,
  openReadOnly,
  requireDatabaseFile,
} from '../server-config.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** A failure caused by a server (the database unreachable) rather than by the configuration: exit 2. */
  serverFault?: boolean;
}

/** Largest clock difference with the database server that `doctor` accepts (tokens carry iat/exp). */
const MAX_SKEW_MS = 30_000;

const DOCTOR_HELP = `
doctor only reads: it creates no directory, database or secret key. A missing database or secret key is a
FAIL with what to do. Exit code 0 when every check is ok, 1 for a configuration problem, 2 when the database
cannot be reached.

Examples:
  $ clavis doctor
  $ CLAVIS_DATABASE_URL=postgres://clavis@db.internal/clavis clavis doctor --json
  $ CLAVIS_DATABASE_URL=sqlite:/srv/restore/clavis.db clavis doctor      # check a restored backup
`;

/** `clavis doctor` and `clavis backup`. */
export function registerOpsCommands(program: Command): void {
  program
    .command('doctor')
    .description('Check configuration, database, signing keys and clock (read-only)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', DOCTOR_HELP)
    .action(async (opts: { json?: boolean }) => {
      const checks: Check[] = [];
      let loaded: ExistingConfig;
      try {
        loaded = loadExistingConfig();
      } catch (err) {
        checks.push({ name: 'configuration', ok: false, detail: (err as Error).message });
        return report(checks, opts.json);
      }
      const { config, secretKey } = loaded;
      checks.push({
        name: 'configuration',
        ok: true,
        detail: `issuer ${config.issuer}, ${config.database.kind}`,
      });
      checks.push(
        secretKey.source === 'env'
          ? { name: 'secret key', ok: true, detail: 'from CLAVIS_SECRET_KEY' }
          : secretKey.source === 'file'
            ? {
                name: 'secret key',
                ok: true,
                detail: `from ${secretKey.file} (set CLAVIS_SECRET_KEY in production)`,
              }
            : { name: 'secret key', ok: false, detail: missingSecretKey(secretKey.file) },
      );
      if (
        !config.issuer.startsWith('https:') &&
        !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(config.issuer)
      )
        checks.push({
          name: 'issuer',
          ok: false,
          detail: 'CLAVIS_ISSUER must use https outside local development',
        });

      let handle: DatabaseHandle;
      try {
        handle = openReadOnly(config);
      } catch (err) {
        checks.push({ name: 'database', ok: false, detail: (err as Error).message.replace(/\.$/, '') });
        return report(checks, opts.json);
      }
      try {
        try {
          await withTimeout(checkReachable(handle), 15_000);
        } catch (err) {
          checks.push({ name: 'database', ok: false, detail: (err as Error).message, serverFault: true });
          return report(checks, opts.json);
        }
        const ready = await isReady(handle);
        checks.push({
          name: 'database',
          ok: ready,
          detail: ready
            ? 'reachable, migrations applied'
            : 'migrations pending, or not a Clavis database (run `clavis migrate`)',
        });
        if (!ready) return report(checks, opts.json);
        checks.push(await signingKeysCheck(handle, secretKey.source === 'missing' ? null : config.secretKey));
        checks.push(await clockCheck(handle));
      } catch (err) {
        checks.push({ name: 'database', ok: false, detail: (err as Error).message, serverFault: true });
      } finally {
        await handle.close().catch(() => {});
        // A database that never answered can leave a connection attempt pending: do not wait for it.
        setTimeout(() => process.exit(), 200).unref();
      }
      return report(checks, opts.json);
    });

  program
    .command('backup <file>')
    .description('Write an online, consistent copy of the SQLite database (mode 0600)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe copy holds password hashes and sealed keys: it is written with mode 0600. Keep the secret key\n(CLAVIS_SECRET_KEY or secret.key) with it, or the copy cannot be used.\n\nExamples:\n  $ clavis backup ./backups/clavis-$(date +%F).db\n  $ CLAVIS_DATABASE_URL=sqlite:/var/lib/clavis/clavis.db clavis backup /var/backups/clavis.db --json',
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      const { config } = loadExistingConfig();
      if (config.database.kind !== 'sqlite')
        throw new CliError('backup copies SQLite databases; for PostgreSQL use pg_dump.');
      const target = resolve(file);
      if (existsSync(target)) throw new CliError(`${target} exists already; choose a new file name.`);
      const dir = dirname(target);
      if (!existsSync(dir) || !statSync(dir).isDirectory())
        throw new CliError(`directory ${dir} does not exist; create it first (mkdir -p ${dir}).`);
      requireDatabaseFile(config);
      // Create the target first, empty and 0600, so the copy is never readable by others, not even briefly.
      let fd: number;
      try {
        fd = openSync(target, 'wx', 0o600);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EEXIST') throw new CliError(`${target} exists already; choose a new file name.`);
        throw new CliError(
          `cannot write ${target} (${e.code ?? e.message}); check the path and its permissions.`,
        );
      }
      closeSync(fd);
      const handle = openDatabase(config.database);
      try {
        // better-sqlite3's backup uses SQLite's online backup API: consistent while the server runs.
        const r = await handle.sqlite!.backup(target);
        chmodSync(target, 0o600);
        if (opts.json) console.log(JSON.stringify({ file: target, pages: r.totalPages }));
        else
          console.log(`Backed up ${config.database.path} to ${target} (${r.totalPages} pages, mode 0600).`);
      } catch (err) {
        rmSync(target, { force: true });
        throw new CliError(`backup failed: ${(err as Error).message}`, EXIT_SERVER);
      } finally {
        await handle.close();
      }
    });
}

async function signingKeysCheck(handle: DatabaseHandle, secretKey: Buffer | null): Promise<Check> {
  const { total, active, readable } = await signingKeyReport(handle.db, secretKey);
  if (readable === null)
    return {
      name: 'signing keys',
      ok: false,
      detail: `${total} keys, not checked: they cannot be decrypted without the secret key`,
    };
  return {
    name: 'signing keys',
    // One active key per algorithm (access tokens, and each ID token algorithm).
    ok: readable === total && active <= KEY_ALGS.length,
    detail:
      total === 0
        ? 'none yet (created on first start)'
        : readable < total
          ? `${total - readable} of ${total} keys cannot be decrypted: is CLAVIS_SECRET_KEY the one they were made with?`
          : `${active} active, ${total - active} retired`,
  };
}

/**
 * PostgreSQL: this machine's clock against the database server's (the midpoint of the query's round trip).
 * SQLite has no server clock, so all that can be checked is that no stored timestamp lies in the future.
 */
async function clockCheck(handle: DatabaseHandle): Promise<Check> {
  if (handle.kind === 'postgres') {
    const before = Date.now();
    const serverNow = await databaseClock(handle.db);
    const after = Date.now();
    const skew = Math.round(Math.abs((before + after) / 2 - serverNow));
    return {
      name: 'clock',
      ok: skew <= MAX_SKEW_MS,
      detail: `${skew} ms from the database server's clock${
        skew > MAX_SKEW_MS ? ': synchronise both with NTP' : ` (round trip ${after - before} ms)`
      }`,
    };
  }
  const at = await newestStoredTimestamp(handle.db);
  const ahead = at - Date.now();
  return {
    name: 'clock',
    ok: ahead <= MAX_SKEW_MS,
    detail:
      ahead > MAX_SKEW_MS
        ? `the newest stored timestamp (${new Date(at).toISOString()}) is ${Math.round(ahead / 1000)} s in the future: this clock is behind; synchronise it with NTP`
        : `only partly checked: SQLite has no server clock to compare with, so doctor can only check that no stored timestamp is in the future (none is; system time ${new Date().toISOString()})`,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CliError(
              `the database did not answer within ${ms / 1000} s. Check CLAVIS_DATABASE_URL and that the database server is running.`,
              EXIT_SERVER,
              'unreachable',
            ),
          ),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

function report(checks: Check[], json?: boolean): void {
  const ok = checks.every((c) => c.ok);
  const exitCode = ok ? 0 : checks.some((c) => !c.ok && c.serverFault) ? EXIT_SERVER : EXIT_USER;
  if (json)
    console.log(
      JSON.stringify(
        { ok, exit_code: exitCode, checks: checks.map(({ serverFault: _, ...c }) => c) },
        null,
        2,
      ),
    );
  else for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(13)} ${c.detail}`);
  if (!ok) process.exitCode = exitCode;
}
