import { existsSync } from 'node:fs';
import { type Config, loadConfig } from '../config/config.js';
import { type DatabaseHandle, isReady, openDatabase, openDatabaseReadOnly, ping } from '../db/database.js';
import { CliError, EXIT_SERVER, EXIT_USER } from './output.js';

/**
 * Configuration for commands that inspect or maintain an existing deployment (`doctor`, `keys`, `backup`).
 * Like `loadConfig()`, this never generates a secret key: when neither CLAVIS_SECRET_KEY nor the key file
 * exists, `secretKey.source` is `missing` and `config.secretKey` is a placeholder that must not be used.
 */
export interface ExistingConfig {
  config: Config;
  /** Where the secret key comes from; `missing` when there is none. */
  secretKey: { source: 'env' | 'file' | 'missing'; file?: string };
}

/** Loads the configuration without creating anything on disk (no data directory, no secret key). */
export function loadExistingConfig(env: NodeJS.ProcessEnv = process.env): ExistingConfig {
  const config = loadConfig(env);
  const source = config.secretKeySource === 'generated' ? 'file' : config.secretKeySource;
  return { config, secretKey: { source, file: config.secretKeyFile } };
}

/** One line saying what to do when there is no secret key. */
export function missingSecretKey(file: string | undefined): string {
  return `no secret key: set CLAVIS_SECRET_KEY, or restore ${file ?? 'secret.key'} from your backup (a new key cannot decrypt existing signing keys or client secrets)`;
}

/** Throws a user error when a SQLite database file does not exist (PostgreSQL is checked by connecting). */
export function requireDatabaseFile(config: Config): void {
  if (
    config.database.kind === 'sqlite' &&
    config.database.path !== ':memory:' &&
    !existsSync(config.database.path)
  )
    throw new CliError(
      `no database at ${config.database.path}; check CLAVIS_DATABASE_URL (\`clavis migrate\` creates a new one).`,
      EXIT_USER,
      'not_found',
    );
}

/**
 * Opens an existing database without writing to it ({@link openDatabaseReadOnly}); a SQLite file that does not
 * exist is a user error here rather than a driver's.
 */
export function openReadOnly(config: Config): DatabaseHandle {
  requireDatabaseFile(config);
  return openDatabaseReadOnly(config.database);
}

/**
 * For `keys list|rotate`: the configuration and database of an existing, migrated deployment. Fails with a
 * user error (exit 1) instead of creating a new deployment when the path is wrong, the secret key is missing
 * or migrations are pending.
 */
export async function openExistingDeployment(): Promise<{ config: Config; handle: DatabaseHandle }> {
  const { config, secretKey } = loadExistingConfig();
  requireDatabaseFile(config);
  if (secretKey.source === 'missing')
    throw new CliError(`${missingSecretKey(secretKey.file)}.`, EXIT_USER, 'config');
  const handle = openDatabase(config.database);
  try {
    await checkReachable(handle);
    if (!(await isReady(handle)))
      throw new CliError(
        'the database has pending migrations (or is not a Clavis database): run `clavis migrate` first.',
        EXIT_USER,
        'migrations_pending',
      );
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  return { config, handle };
}

/** Throws a server error (exit 2) when the database does not answer. */
export async function checkReachable(handle: DatabaseHandle): Promise<void> {
  try {
    await ping(handle);
  } catch (err) {
    throw new CliError(
      `cannot reach the database (${databaseReason(err)}). Check CLAVIS_DATABASE_URL and that the database server is running.`,
      EXIT_SERVER,
      'unreachable',
    );
  }
}

/** A database connection failure in a few words. */
export function databaseReason(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  const code = e?.code ?? e?.errors?.[0]?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ETIMEDOUT') return 'timed out';
  return (e?.message || String(err)).split('\n')[0]!;
}
