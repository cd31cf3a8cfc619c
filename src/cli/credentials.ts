import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './output.js';

/**
 * The CLI's saved logins: `credentials.json` in the user's config directory (`$CLAVIS_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/clavis`, else `~/.config/clavis`), directory mode 0700, file mode 0600, keyed by server
 * URL. It holds access and refresh tokens, never a client secret.
 */
export interface SavedLogin {
  /** The server URL the login is for (also the key). */
  server: string;
  /**
   * How the token was obtained: the browser flow or the device grant (both refreshable), or client
   * credentials (log in again).
   */
  grant: 'authorization_code' | 'client_credentials' | 'urn:ietf:params:oauth:grant-type:device_code';
  client_id: string;
  token_endpoint: string;
  revocation_endpoint?: string | undefined;
  access_token: string;
  refresh_token?: string | undefined;
  /** Milliseconds since the epoch; absent when the server gave no `expires_in`. */
  expires_at?: number | undefined;
  scope?: string | undefined;
  saved_at: number;
}

export interface CredentialsFile {
  /** The server of the last login, used when neither --server nor CLAVIS_SERVER is given. */
  default_server?: string | undefined;
  servers: Record<string, SavedLogin>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLAVIS_CONFIG_DIR) return env.CLAVIS_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'clavis');
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'credentials.json');
}

/** A server URL as a stable key: origin plus path, without a trailing slash. */
export function normalizeServer(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
}

/**
 * The saved logins. A missing file is none; a file that cannot be read or parsed is an error that says so,
 * not "none": saving over it would lose every other login in it.
 *
 * @throws {CliError} for an unreadable or damaged file.
 */
export function readCredentials(): CredentialsFile {
  const path = credentialsPath();
  const unreadable = (why: string) =>
    new CliError(
      `the saved logins in ${path} cannot be read (${why}). Move the file aside (or delete it), then log in again.`,
    );
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { servers: {} };
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw notADirectory(configDir());
    throw unreadable((err as NodeJS.ErrnoException).code ?? 'read error');
  }
  let parsed: CredentialsFile;
  try {
    parsed = JSON.parse(text) as CredentialsFile;
  } catch {
    throw unreadable('it is not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || !parsed.servers || typeof parsed.servers !== 'object')
    throw unreadable('it has no "servers" object');
  return parsed;
}

/** Creates the config directory (mode 0700); its parents get the default mode. */
function ensureConfigDir(): string {
  const dir = configDir();
  if (!existsSync(dir)) {
    try {
      mkdirSync(dirname(dir), { recursive: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new CliError(
        `cannot create the configuration directory ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'}). Set CLAVIS_CONFIG_DIR to a directory you can write.`,
      );
    }
  } else if (!statSync(dir).isDirectory()) {
    // Never chmod a file that is not ours to change.
    throw notADirectory(dir);
  }
  chmodSync(dir, 0o700);
  return dir;
}

const notADirectory = (dir: string) =>
  new CliError(`${dir} is not a directory. Set CLAVIS_CONFIG_DIR to a directory for the saved logins.`);

/** Writes the file atomically (temp file + rename), mode 0600 in a 0700 directory. */
export function writeCredentials(file: CredentialsFile): void {
  ensureConfigDir();
  const target = credentialsPath();
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, target);
}

export function getLogin(server: string): SavedLogin | undefined {
  return readCredentials().servers[normalizeServer(server)];
}

/**
 * Saves a server's login. A login (`clavis login`) makes it the default server; a refresh of the tokens
 * (`makeDefault: false`) does not, or a command run once with `--server` would retarget every later one.
 */
export function saveLogin(login: SavedLogin, options: { makeDefault?: boolean } = {}): void {
  const file = readCredentials();
  const key = normalizeServer(login.server);
  file.servers[key] = { ...login, server: key };
  if (options.makeDefault !== false || file.default_server === undefined) file.default_server = key;
  writeCredentials(file);
}

/** Removes the login for `server`; true if there was one. */
export function removeLogin(server: string): boolean {
  const file = readCredentials();
  const key = normalizeServer(server);
  if (!file.servers[key]) return false;
  delete file.servers[key];
  if (file.default_server === key) file.default_server = Object.keys(file.servers)[0];
  if (Object.keys(file.servers).length === 0) rmSync(credentialsPath(), { force: true });
  else writeCredentials(file);
  return true;
}

/** The lock file beside credentials.json that serialises refreshes across CLI processes. */
export function lockPath(env: NodeJS.ProcessEnv = process.env): string {
  return `${credentialsPath(env)}.lock`;
}

/** A lock older than this is taken over: its holder hung or died without cleaning up. */
export const LOCK_STALE_MS = 60_000;
/** A takeover lock older than this was left by a process that died while taking over a stale lock. */
const TAKEOVER_STALE_MS = 5_000;
/** How long to wait for another process's lock before giving up. */
const LOCK_WAIT_MS = 70_000;

function holderIsGone(path: string): boolean {
  try {
    const { pid } = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    if (typeof pid !== 'number') return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding an exclusive lock on the saved logins: `credentials.json.lock`, created with O_EXCL. A lock
 * whose holder has exited, or that is older than {@link LOCK_STALE_MS}, is taken over. Concurrent CLI processes
 * use it so that only one of them presents a (rotating) refresh token; the others wait, then re-read the file.
 */
export async function withCredentialsLock<T>(fn: () => Promise<T>): Promise<T> {
  ensureConfigDir();
  const path = lockPath();
  const deadline = Date.now() + LOCK_WAIT_MS;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, at: Date.now() }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let seen: { ino: number; mtimeMs: number };
      try {
        seen = statSync(path);
      } catch {
        continue; // released meanwhile
      }
      const age = Date.now() - seen.mtimeMs;
      // A holder that has just created the file may not have written its pid yet: only trust age then.
      if (age > LOCK_STALE_MS || (age > 1000 && holderIsGone(path))) {
        // Another waiter taking it over: give it the moment it needs, rather than spin.
        if (!removeStaleLock(path, seen)) await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      if (Date.now() > deadline)
        throw new CliError(
          `another clavis process holds ${path}. If none is running, delete that file and try again.`,
        );
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
    }
  }
  try {
    return await fn();
  } finally {
    // Ours unless it was taken over as stale (this process hung for a minute): then it is another's now.
    try {
      if (statSync(path).ino === fstatSync(fd).ino) rmSync(path, { force: true });
    } catch {}
    closeSync(fd);
  }
}

/**
 * Removes the stale lock `seen`, if it is still the one in place. Waiters that find the same stale lock
 * take turns through a second lock (`.takeover`, created with O_EXCL): otherwise one could check the file,
 * another remove it and take a new lock in between, and the first then remove that live lock, so that two
 * processes would present the same refresh token. Only this function removes another process's lock file,
 * and never without holding the takeover lock.
 *
 * @returns `false` when another waiter holds the takeover lock.
 */
function removeStaleLock(path: string, seen: { ino: number; mtimeMs: number }): boolean {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another waiter is taking over. A takeover lock is held for two system calls; one left for seconds
    // belongs to a process that died in between.
    try {
      if (Date.now() - statSync(guard).mtimeMs > TAKEOVER_STALE_MS) rmSync(guard, { force: true });
    } catch {}
    return false;
  }
  try {
    // Still the same file, not one another waiter took after the stale one was removed: inode numbers are
    // reused at once, so the modification time (a new lock's is now, a stale one's over a second old) must
    // match too.
    const current = statSync(path);
    if (current.ino === seen.ino && current.mtimeMs === seen.mtimeMs) rmSync(path, { force: true });
  } catch {
    // gone already
  } finally {
    closeSync(fd);
    rmSync(guard, { force: true });
  }
  return true;
}
