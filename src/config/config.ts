import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';

/** Thrown for invalid configuration; the message always names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** The whole configuration of a process, read once from the environment by {@link loadConfig}. */
export interface Config {
  readonly issuer: string;
  readonly port: number;
  /** Address to listen on: `127.0.0.1` for the local quick start (no `CLAVIS_ISSUER`), else `0.0.0.0`. */
  readonly host: string;
  /**
   * Which peers' `X-Forwarded-*` headers to trust (`CLAVIS_TRUST_PROXY`): `true` any (every hop), `false`
   * none, or a list of proxy addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`.
   */
  readonly trustProxy: boolean | readonly string[];
  readonly database: DatabaseConfig;
  /** Raw secret key material (>= 32 bytes) used to key secret hashes and encrypt signing keys. */
  readonly secretKey: Buffer;
  /**
   * Where the secret key came from, so start-up can log loudly when it was generated. `missing`: there is
   * none yet, and `secretKey` is a placeholder that must not be used; `clavis serve` then creates one with
   * `ensureSecretKey` (src/config/secret-key.ts), commands that inspect a deployment report it.
   */
  readonly secretKeySource: 'env' | 'file' | 'generated' | 'missing';
  readonly secretKeyFile?: string;
  readonly logLevel: string;
  readonly accessTokenTtl: number;
  readonly refreshTokenTtl: number;
  /**
   * Seconds after a refresh token's rotation during which presenting it once more rotates again instead of
   * revoking the grant (0: strict RFC 9700 §4.14.2 reuse detection).
   */
  readonly refreshReuseGrace: number;
  readonly signingAlg: 'ES256' | 'EdDSA';
  /** The `aud` of access tokens issued by Clavis (the Clavis API's resource identifier). */
  readonly apiAudience: string;
  /**
   * The identifier of the API a token request without `resource` is for (`CLAVIS_DEFAULT_API`); unset: the
   * built-in sample API, at {@link apiAudience}.
   */
  readonly defaultApi: string | undefined;
  readonly bootstrap: {
    readonly adminEmail?: string;
    readonly adminPassword?: string;
    readonly clientId?: string;
    readonly clientSecret?: string;
  };
  readonly signupEnabled: boolean;
  /** Sign-ups accepted per hour and node, per source address and overall (`CLAVIS_SIGNUP_RATE`). */
  readonly signupRate: { readonly perAddress: number; readonly total: number };
  readonly workers: number;
  /**
   * Leak reports (`POST /api/v1/credential-leaks`) accepted per hour and node, per source address and overall
   * (`CLAVIS_LEAK_REPORT_RATE`).
   */
  readonly leakReportRate: { readonly perAddress: number; readonly total: number };
  /**
   * Where GitHub's secret-scanning public keys come from (`CLAVIS_GITHUB_SCANNING_KEYS_URL`): an https URL
   * (GitHub's by default), or a file path (tests, air-gapped installs).
   */
  readonly githubScanningKeysUrl: string;
  /** When set, `/metrics` answers only requests with `Authorization: Bearer <metricsToken>`. */
  readonly metricsToken?: string;
  /** Outgoing mail (`CLAVIS_SMTP_URL`, `CLAVIS_MAIL_FROM`); undefined when no SMTP server is configured. */
  readonly mail?: MailConfig;
  /** How often the outbox worker looks for due messages, in ms (`CLAVIS_OUTBOX_POLL_MS`). */
  readonly outboxPollMs: number;
  /** How often the server scans for secrets nearing expiry, in seconds (`CLAVIS_NOTIFY_INTERVAL`). */
  readonly notifyIntervalSec: number;
  /** How often the server purges expired rows (codes, refresh tokens, sessions…), in seconds (`CLAVIS_PURGE_INTERVAL`). */
  readonly purgeIntervalSec: number;
  /**
   * `CLAVIS_WEBHOOKS_ALLOW_PRIVATE`: webhooks may use http and reach loopback, private and link-local
   * addresses (development and tests). Off: https only, public addresses only (SSRF).
   */
  readonly webhooksAllowPrivate: boolean;
}

/** An SMTP server to send mail through. The URL may hold a password: never log it. */
export interface MailConfig {
  /** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). */
  readonly smtpUrl: string;
  /** The `From:` address, e.g. `Clavis <no-reply@example.com>`. */
  readonly from: string;
  /** Connection, greeting and socket timeout in ms (`CLAVIS_SMTP_TIMEOUT`, seconds, default 30). */
  readonly timeoutMs: number;
  /**
   * `smtp://` only: refuse to send unless the server upgrades with STARTTLS (`CLAVIS_SMTP_REQUIRE_TLS`). On by
   * default except for a loopback host (a relay on the same machine): the mail carries sign-up and password
   * reset links, and the URL's password would otherwise cross the network in the clear whenever someone in
   * between strips the server's STARTTLS offer.
   */
  readonly requireTls: boolean;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function intVar(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function boolVar(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * Reads `CLAVIS_TRUST_PROXY`: a boolean, or a comma-separated list of the proxies' addresses, CIDR ranges
 * (`10.0.0.0/8`, `fd00::/8`) and names (`loopback`, `linklocal`, `uniquelocal`). With a list, the client's
 * address is the last `X-Forwarded-For` entry not added by a listed proxy, so a client cannot choose its own
 * address by sending the header itself.
 */
export function parseTrustProxy(raw: string | undefined): boolean | string[] {
  if (raw === undefined || raw.trim() === '') return false;
  if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
  if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
  const entries = raw.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (PROXY_NAMES.includes(entry)) continue;
    const [addr, prefix, ...rest] = entry.split('/');
    const family = isIP(addr ?? '');
    const maxPrefix = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      rest.length > 0 ||
      (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix))
    )
      throw new ConfigError(
        'CLAVIS_TRUST_PROXY',
        `must be true, false, or a comma-separated list of proxy addresses, CIDR ranges and the names ${PROXY_NAMES.join(', ')}; "${entry}" is none of these`,
      );
  }
  return entries;
}

/**
 * `<per address>/<overall>` per hour and node: `CLAVIS_SIGNUP_RATE` (sign-ups, default 5/100) and
 * `CLAVIS_LEAK_REPORT_RATE` (leak reports, default 20/1000).
 */
function hourlyRateVar(
  env: Env,
  name: string,
  what: string,
  def: { perAddress: number; total: number },
): { perAddress: number; total: number } {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,7})\s*$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < Number(m[1]))
    throw new ConfigError(
      name,
      `must be "<per address>/<overall>" ${what} per hour, e.g. ${def.perAddress}/${def.total} (overall at least per address), got "${raw}"`,
    );
  return { perAddress: Number(m[1]), total: Number(m[2]) };
}

/** The default of `CLAVIS_GITHUB_SCANNING_KEYS_URL`: GitHub's published secret-scanning keys. */
export const GITHUB_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** `CLAVIS_GITHUB_SCANNING_KEYS_URL`: an http(s) URL or a file path (a `file:` URL is read as a path). */
function githubKeysVar(env: Env): string {
  const raw = env.CLAVIS_GITHUB_SCANNING_KEYS_URL?.trim();
  if (!raw) return GITHUB_SCANNING_KEYS_URL;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !/^(https?|file):\/\//i.test(raw))
    throw new ConfigError(
      'CLAVIS_GITHUB_SCANNING_KEYS_URL',
      `must be an http(s) URL or a file path, got "${raw}"`,
    );
  return raw;
}

/**
 * `CLAVIS_SMTP_URL` and `CLAVIS_MAIL_FROM`: mail is sent only when the URL is set. The sender defaults to
 * `Clavis <no-reply@<issuer host>>`.
 */
export function parseMailConfig(env: Env, issuer: string): MailConfig | undefined {
  const raw = env.CLAVIS_SMTP_URL;
  if (raw === undefined || raw.trim() === '') {
    if (env.CLAVIS_MAIL_FROM)
      throw new ConfigError('CLAVIS_MAIL_FROM', 'is set but CLAVIS_SMTP_URL is not; set both to send mail');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(
      'CLAVIS_SMTP_URL',
      'must be a URL like smtp://user:password@host:587 or smtps://host:465',
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new ConfigError('CLAVIS_SMTP_URL', `must start with smtp:// or smtps://, got "${url.protocol}//"`);
  if (!url.hostname) throw new ConfigError('CLAVIS_SMTP_URL', 'names no host');
  const from = (env.CLAVIS_MAIL_FROM ?? '').trim() || `Clavis <no-reply@${new URL(issuer).hostname}>`;
  // An address, alone or in angle brackets after a display name; no line breaks (header injection).
  if (/[\r\n]/.test(from) || !/^(?:[^<>@]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/.test(from))
    throw new ConfigError(
      'CLAVIS_MAIL_FROM',
      `must be an address like "Clavis <no-reply@example.com>", got "${from}"`,
    );
  const loopback =
    url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  return {
    smtpUrl: url.toString(),
    from,
    timeoutMs: intVar(env, 'CLAVIS_SMTP_TIMEOUT', 30, 1, 600) * 1000,
    requireTls: url.protocol === 'smtps:' || boolVar(env, 'CLAVIS_SMTP_REQUIRE_TLS', !loopback),
  };
}

function parseIssuer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('CLAVIS_ISSUER', `must be an absolute URL, got "${raw}"`);
  }
  // RFC 8414 §2: the issuer is an https URL with no query or fragment (http allowed for local use).
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError('CLAVIS_ISSUER', 'must use https (or http for local development)');
  if (url.search || url.hash || raw.includes('#'))
    throw new ConfigError('CLAVIS_ISSUER', 'must not contain a query or fragment');
  return raw.replace(/\/+$/, '');
}

export function parseDatabaseUrl(raw: string, variable = 'CLAVIS_DATABASE_URL'): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new ConfigError(variable, 'sqlite: needs a file path, e.g. sqlite:./data/clavis.db');
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    try {
      new URL(raw);
    } catch {
      throw new ConfigError(variable, 'is not a valid postgres:// URL');
    }
    return { kind: 'postgres', url: raw };
  }
  throw new ConfigError(variable, 'must start with sqlite: or postgres://');
}

function decodeSecretKey(raw: string, variable = 'CLAVIS_SECRET_KEY'): Buffer {
  const b64 = /^[A-Za-z0-9_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64url') : Buffer.alloc(0);
  const hex = /^[0-9a-fA-F]+$/.test(raw) && raw.length % 2 === 0 ? Buffer.from(raw, 'hex') : Buffer.alloc(0);
  const key = hex.length >= 32 ? hex : b64.length >= 32 ? b64 : Buffer.from(raw, 'utf8');
  if (key.length < 32)
    throw new ConfigError(variable, 'must hold at least 32 bytes (e.g. `openssl rand -base64 32`)');
  return key;
}

/**
 * Reads and validates configuration from the environment. Reads the secret key file when there is one, and
 * never writes anything: a missing key is reported as `secretKeySource: 'missing'`.
 *
 * @param env The environment, normally `process.env`.
 * @throws {ConfigError} naming the offending variable (or the secret key file).
 */
export function loadConfig(env: Env = process.env): Config {
  const port = intVar(env, 'PORT', 8080, 0, 65535);
  const issuer = parseIssuer(env.CLAVIS_ISSUER || `http://localhost:${port === 0 ? 8080 : port}`);
  const dbRaw = env.CLAVIS_DATABASE_URL || env.DATABASE_URL || 'sqlite:./data/clavis.db';
  const database = parseDatabaseUrl(dbRaw, env.CLAVIS_DATABASE_URL ? 'CLAVIS_DATABASE_URL' : 'DATABASE_URL');
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const signingAlg = env.CLAVIS_SIGNING_ALG || 'ES256';
  if (signingAlg !== 'ES256' && signingAlg !== 'EdDSA')
    throw new ConfigError('CLAVIS_SIGNING_ALG', 'must be ES256 or EdDSA');
  const dataDir = resolve(
    env.CLAVIS_DATA_DIR ||
      (database.kind === 'sqlite' && database.path !== ':memory:' ? dirname(database.path) : './data'),
  );

  let secretKey: Buffer;
  let secretKeySource: Config['secretKeySource'];
  let secretKeyFile: string | undefined;
  if (env.CLAVIS_SECRET_KEY) {
    secretKey = decodeSecretKey(env.CLAVIS_SECRET_KEY);
    secretKeySource = 'env';
  } else {
    secretKeyFile = resolve(dataDir, 'secret.key');
    if (existsSync(secretKeyFile)) {
      // A bad key file is named as such, not as the variable that was not set.
      secretKey = decodeSecretKey(readFileSync(secretKeyFile, 'utf8').trim(), secretKeyFile);
      secretKeySource = 'file';
    } else {
      secretKey = Buffer.alloc(32);
      secretKeySource = 'missing';
    }
  }

  const workersRaw = env.CLAVIS_WORKERS || '1';
  let workers: number;
  if (workersRaw === 'auto') workers = 0;
  else workers = intVar(env, 'CLAVIS_WORKERS', 1, 1, 256);

  return {
    issuer,
    port,
    // The quick start (no CLAVIS_ISSUER) prints a generated admin password: it listens on loopback only.
    host: env.HOST || (env.CLAVIS_ISSUER ? '0.0.0.0' : '127.0.0.1'),
    trustProxy: parseTrustProxy(env.CLAVIS_TRUST_PROXY),
    database,
    secretKey,
    secretKeySource,
    secretKeyFile,
    logLevel,
    accessTokenTtl: intVar(env, 'CLAVIS_ACCESS_TOKEN_TTL', 3600, 1, 86400),
    refreshTokenTtl: intVar(env, 'CLAVIS_REFRESH_TOKEN_TTL', 60 * 86400, 60, 3650 * 86400),
    refreshReuseGrace: intVar(env, 'CLAVIS_REFRESH_REUSE_GRACE', 0, 0, 300),
    signingAlg,
    apiAudience: env.CLAVIS_API_AUDIENCE || `${issuer}/api`,
    defaultApi: env.CLAVIS_DEFAULT_API || undefined,
    bootstrap: {
      adminEmail: env.CLAVIS_BOOTSTRAP_ADMIN_EMAIL || undefined,
      adminPassword: env.CLAVIS_BOOTSTRAP_ADMIN_PASSWORD || undefined,
      clientId: env.CLAVIS_BOOTSTRAP_CLIENT_ID || undefined,
      clientSecret: env.CLAVIS_BOOTSTRAP_CLIENT_SECRET || undefined,
    },
    signupEnabled: boolVar(env, 'CLAVIS_SIGNUP_ENABLED', true),
    signupRate: hourlyRateVar(env, 'CLAVIS_SIGNUP_RATE', 'sign-ups', { perAddress: 5, total: 100 }),
    leakReportRate: hourlyRateVar(env, 'CLAVIS_LEAK_REPORT_RATE', 'leak reports', {
      perAddress: 20,
      total: 1000,
    }),
    githubScanningKeysUrl: githubKeysVar(env),
    workers,
    metricsToken: env.CLAVIS_METRICS_TOKEN || undefined,
    mail: parseMailConfig(env, issuer),
    outboxPollMs: intVar(env, 'CLAVIS_OUTBOX_POLL_MS', 1000, 50, 600_000),
    notifyIntervalSec: intVar(env, 'CLAVIS_NOTIFY_INTERVAL', 3600, 10, 7 * 86400),
    purgeIntervalSec: intVar(env, 'CLAVIS_PURGE_INTERVAL', 60, 1, 86400),
    webhooksAllowPrivate: boolVar(env, 'CLAVIS_WEBHOOKS_ALLOW_PRIVATE', false),
  };
}
