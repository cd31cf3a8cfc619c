import {
  AuthorizationResponseError,
  DiscoveryError,
  NetworkError,
  OAuthError,
  requestToken,
  UnexpectedResponseError,
} from '@clavis/client';
import type { Command } from 'commander';
import {
  getLogin,
  normalizeServer,
  readCredentials,
  type SavedLogin,
  saveLogin,
  withCredentialsLock,
} from './credentials.js';
import { CliError, EXIT_SERVER, EXIT_USER } from './output.js';

export const DEFAULT_SERVER = 'http://localhost:8080';

/** Options every remote command takes. */
export interface RemoteOptions {
  server?: string;
  json?: boolean;
}

/** Adds `--server URL` and `--json` to a remote command. */
export function remoteOptions(cmd: Command): Command {
  return cmd
    .option(
      '--server <url>',
      `Clavis server URL (default: $CLAVIS_SERVER, else the server of your last login, else ${DEFAULT_SERVER})`,
    )
    .option('--json', 'machine-readable output');
}

/** --server, else CLAVIS_SERVER, else the server saved at the last login, else http://localhost:8080. */
export function resolveServer(flag: string | undefined): string {
  const raw = flag ?? process.env.CLAVIS_SERVER ?? readCredentials().default_server ?? DEFAULT_SERVER;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    return normalizeServer(raw);
  } catch {
    throw new CliError(
      `--server ${raw} is not an http(s) URL (e.g. https://auth.example.com).`,
      EXIT_USER,
      'usage',
    );
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
};

/** Why a request failed at the network level, in a few words (walks `cause` chains and AggregateErrors). */
export function networkReason(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift() as
      | { code?: unknown; cause?: unknown; errors?: unknown[]; name?: string }
      | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (typeof e.code === 'string' && NETWORK_REASONS[e.code]) return NETWORK_REASONS[e.code];
    if (e.name === 'TimeoutError') return 'timed out';
    if (e.cause) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return undefined;
}

/** The innermost cause's message (e.g. undici's "bad port"), for failures without a known code. */
function innermostMessage(err: unknown): string | undefined {
  let e = err as { cause?: unknown; message?: string } | undefined;
  let msg: string | undefined;
  for (let i = 0; e && typeof e === 'object' && i < 10; i++) {
    if (typeof e.message === 'string' && e.message) msg = e.message;
    e = e.cause as typeof e;
  }
  return msg;
}

export function unreachable(url: string, err: unknown): CliError {
  const reason = networkReason(err) ?? innermostMessage(err) ?? 'network error';
  const origin = (() => {
    try {
      return new URL(url).origin;
    } catch {
      return url;
    }
  })();
  return new CliError(
    `cannot reach ${origin} (${reason}). Is the server running? Check --server.`,
    EXIT_SERVER,
    'unreachable',
  );
}

function isFetchFailure(err: unknown): boolean {
  return err instanceof TypeError && networkReason(err) !== undefined;
}

/**
 * Turns an SDK error from a token or discovery request into a one-line CliError; other errors pass through.
 */
export function oauthFailure(err: unknown, url: string, what: string): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof NetworkError || isFetchFailure(err)) return unreachable(url, err);
  if (err instanceof OAuthError) {
    const desc = err.error_description ? `: ${err.error_description}` : '';
    const hint =
      err.error === 'invalid_client'
        ? ' Check the client id and secret.'
        : err.error === 'invalid_scope'
          ? ' Check --scope against the scopes the client may request.'
          : err.error === 'unauthorized_client'
            ? ' The client may not use this grant (or the API refuses it).'
            : err.error === 'invalid_target'
              ? ' Check --resource: one API per token, named by its identifier (`clavis apis list`), visible to the client.'
              : '';
    const code = err.status !== undefined && err.status >= 500 ? EXIT_SERVER : EXIT_USER;
    return new CliError(`${what} failed (${err.error}${desc}).${hint}`, code, err.error);
  }
  if (err instanceof DiscoveryError) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof NetworkError) return unreachable(url, cause);
    return new CliError(
      `${err.message}. Check --issuer/--server, or pass --token-endpoint URL for servers without RFC 8414 metadata.`,
      EXIT_USER,
      'discovery_failed',
    );
  }
  if (err instanceof UnexpectedResponseError) {
    // A success status with a body that is not a token response, or a 5xx, is the server's fault; other
    // statuses (a 404 page, a redirect) mostly mean a wrong URL.
    const serverFault = err.status >= 500 || err.status === 0 || (err.status >= 200 && err.status < 300);
    return serverFault
      ? new CliError(
          `${what} failed: ${err.message}. The server is misbehaving: try again later or check its logs.`,
          EXIT_SERVER,
          'server_error',
        )
      : new CliError(`${what} failed: ${err.message}. Check the URL.`, EXIT_USER, 'unexpected_response');
  }
  if (err instanceof AuthorizationResponseError)
    return new CliError(`${what} failed: ${err.message}.`, EXIT_USER, 'invalid_callback');
  return err;
}

const PROBLEM_CODES: Record<number, string> = {
  400: 'invalid_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'invalid_request',
  429: 'rate_limited',
};

interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  errors?: Record<string, string>;
}

/** A client for the management API (/api/v1) with the saved login's token, refreshed when it has expired. */
export class ApiClient {
  #login: SavedLogin | undefined;

  constructor(readonly server: string) {}

  static from(opts: RemoteOptions): ApiClient {
    return new ApiClient(resolveServer(opts.server));
  }

  #notLoggedIn(): CliError {
    return new CliError(
      `not logged in to ${this.server}. Run \`clavis login --server ${this.server}\`.`,
      EXIT_USER,
      'not_logged_in',
    );
  }

  /**
   * A valid access token for this server: the saved one, or a refreshed one when it has expired (or when
   * `rejected`, the token the server just refused, is given). Refresh tokens rotate, and presenting one twice
   * revokes the whole login, so the refresh runs under a lock file shared by all clavis processes, and the
   * saved login is read again once the lock is held: if another process refreshed meanwhile, its tokens are used.
   */
  async accessToken(rejected?: string): Promise<string> {
    const login = this.#login ?? getLogin(this.server);
    if (!login) throw this.#notLoggedIn();
    this.#login = login;
    const usable = (l: SavedLogin) =>
      (l.expires_at === undefined || l.expires_at - 30_000 > Date.now()) && l.access_token !== rejected;
    if (usable(login)) return login.access_token;
    if (!login.refresh_token)
      throw new CliError(
        `your token for ${this.server} has expired. Run \`clavis login --server ${this.server}\` again.`,
        EXIT_USER,
        'login_expired',
      );
    return withCredentialsLock(async () => {
      const current = getLogin(this.server);
      if (!current) throw this.#notLoggedIn();
      this.#login = current;
      if (usable(current)) return current.access_token; // another process has refreshed it
      if (!current.refresh_token)
        throw new CliError(
          `your token for ${this.server} has expired. Run \`clavis login --server ${this.server}\` again.`,
          EXIT_USER,
          'login_expired',
        );
      const next = await this.#refresh(current, current.refresh_token);
      saveLogin(next, { makeDefault: false });
      this.#login = next;
      return next.access_token;
    });
  }

  async #refresh(login: SavedLogin, refreshToken: string): Promise<SavedLogin> {
    let tokens: Awaited<ReturnType<typeof requestToken>>;
    try {
      tokens = await requestToken(
        login.token_endpoint,
        { grant_type: 'refresh_token', refresh_token: refreshToken },
        { clientId: login.client_id },
        { idempotent: false, retry: { retries: 1, baseDelayMs: 200 }, timeoutMs: 15_000 },
      );
    } catch (err) {
      if (err instanceof OAuthError && (err.error === 'invalid_grant' || err.error === 'invalid_client'))
        throw new CliError(
          `your login at ${this.server} has expired or was revoked. Run \`clavis login --server ${this.server}\` again.`,
          EXIT_USER,
          'login_expired',
        );
      throw oauthFailure(err, login.token_endpoint, 'refreshing the access token');
    }
    return {
      ...login,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? refreshToken,
      expires_at: tokens.expiresAt,
      scope: tokens.scope ?? login.scope,
      saved_at: Date.now(),
    };
  }

  /** Calls the management API; returns the parsed JSON (undefined for 204). Errors become CliErrors. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let token = await this.accessToken();
    let res = await this.#send(method, path, token, body);
    if (res.status === 401 && this.#login?.refresh_token) {
      // The token may have been revoked or the server's clock differs: one refresh, one retry.
      await res.body?.cancel().catch(() => undefined);
      token = await this.accessToken(token);
      res = await this.#send(method, path, token, body);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    throw this.#problem(res, json as Problem | undefined, text);
  }

  async #send(method: string, path: string, token: string, body: unknown): Promise<Response> {
    const url = `${this.server}/api/v1${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw unreachable(url, err);
    }
  }

  #problem(res: Response, p: Problem | undefined, text: string): CliError {
    const detail = p?.detail ?? (text.trim().slice(0, 200) || res.statusText);
    const strip = (v: string) => v.trim().replace(/\.$/, '');
    const extra = Object.entries(p?.errors ?? {}).filter(([, v]) => strip(v) !== strip(detail));
    const fields = extra.length ? ` (${extra.map(([k, v]) => `${k}: ${strip(v)}`).join('; ')})` : '';
    const full = `${strip(detail)}${fields}`;
    if (res.status >= 500)
      return new CliError(
        `the server failed (HTTP ${res.status}): ${full}. Try again later or check the server logs.`,
        EXIT_SERVER,
        'server_error',
      );
    if (res.status === 401)
      return new CliError(
        `${full}. Run \`clavis login --server ${this.server}\`.`,
        EXIT_USER,
        'unauthorized',
      );
    if (res.status === 403 && /scope/i.test(res.headers.get('www-authenticate') ?? ''))
      return new CliError(
        `${full}. Log in with that scope: \`clavis login --server ${this.server}${
          this.#login?.grant === 'client_credentials' ? ` --client-id ${this.#login.client_id}` : ''
        } --scope "clavis:apps clavis:admin"\`.`,
        EXIT_USER,
        'insufficient_scope',
      );
    return new CliError(`${full}.`, EXIT_USER, PROBLEM_CODES[res.status] ?? 'request_failed');
  }
}
