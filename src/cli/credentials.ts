import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The CLI's saved logins: `credentials.json` in the user's config directory (`$CLAVIS_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/clavis`, else `~/.config/clavis`), directory mode 0700, file mode 0600, keyed by server
 * URL. It holds access and refresh tokens, never a client secret.
 */
export interface SavedLogin {
  /** The server URL the login is for (also the key). */
  server: string;
  /** How the token was obtained: the browser flow (refreshable) or client credentials (log in again). */
  grant: 'authorization_code' | 'client_credentials';
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

export function readCredentials(): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(credentialsPath(), 'utf8');
  } catch {
    return { servers: {} };
  }
  try {
    const parsed = JSON.parse(text) as CredentialsFile;
    if (!parsed || typeof parsed !== 'object' || typeof parsed.servers !== 'object') return { servers: {} };
    return parsed;
  } catch {
    return { servers: {} };
  }
}

/** Writes the file atomically (temp file + rename), mode 0600 in a 0700 directory. */
export function writeCredentials(file: CredentialsFile): void {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const target = credentialsPath();
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, target);
}

export function getLogin(server: string): SavedLogin | undefined {
  return readCredentials().servers[normalizeServer(server)];
}

export function saveLogin(login: SavedLogin): void {
  const file = readCredentials();
  const key = normalizeServer(login.server);
  file.servers[key] = { ...login, server: key };
  file.default_server = key;
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
