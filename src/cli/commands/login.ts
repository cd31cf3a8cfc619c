import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  type AuthorizationServerMetadata,
  authorizationCode,
  clientCredentials,
  clientSecretBasic,
  discover,
  OAuthError,
  type TokenSet,
} from '@clavis/client';
import type { Command } from 'commander';
import { oauthFailure, remoteOptions, resolveServer, unreachable } from '../api-client.js';
import {
  credentialsPath,
  getLogin,
  removeLogin,
  type SavedLogin,
  saveLogin,
  withCredentialsLock,
} from '../credentials.js';
import { DEVICE_GRANT_TYPE, deviceLogin } from '../device-login.js';
import { CliError, EXIT_USER } from '../output.js';
import { findClientSecret, resolveClientId, resolveClientSecret } from '../secret-input.js';

/** The CLI's public client, created at bootstrap (src/domain/bootstrap.ts). */
export const CLI_CLIENT_ID = 'clavis-cli';

interface LoginOptions {
  server?: string;
  json?: boolean;
  clientId?: string;
  clientSecretStdin?: boolean;
  clientSecret?: string;
  scope?: string;
  browser?: boolean;
  timeout?: string;
  port?: string;
  device?: boolean;
}

const LOGIN_EXAMPLES = `
By default this opens your browser to sign in (authorization code flow with PKCE through a loopback
redirect on 127.0.0.1). The URL is always printed, so you can open it yourself. The token (and refresh
token) is saved in ${'$'}XDG_CONFIG_HOME/clavis/credentials.json (mode 0600), never a client secret.

Examples:
  $ clavis login --server https://auth.example.com
  $ clavis login --scope "clavis:apps clavis:admin"          # admins: approvals too
  $ clavis login --no-browser                                # print the URL only
  $ clavis login --no-browser --port 8765                    # a fixed callback port (e.g. forwarded over SSH)
  $ clavis login --device                                    # no browser here: enter a code on another device

  # automation: client credentials (the client_id from \`clavis apps list\`), secret from the environment or stdin
  $ CLAVIS_CLIENT_SECRET=... clavis login --client-id 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81
  $ vault read -field=secret kv/ci-bot | clavis login --client-id 3f9c2b7e8a1d4c6f9e0b5a7d2c4e6f81 --client-secret-stdin
`;

async function metadataFor(server: string): Promise<AuthorizationServerMetadata> {
  try {
    return await discover(server, { retry: { retries: 1, baseDelayMs: 200 }, timeoutMs: 15_000 });
  } catch (err) {
    throw oauthFailure(err, server, 'discovering the server');
  }
}

function openBrowser(url: string): void {
  const cmd =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {}); // no opener installed: the printed URL is enough
    child.unref();
  } catch {}
}

const page = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body>`;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function browserLogin(
  server: string,
  opts: LoginOptions,
): Promise<{ tokens: TokenSet; clientId: string }> {
  // A day at most: Node's timers overflow past about 24.8 days and would fire at once.
  const seconds = Number(opts.timeout ?? 300);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(opts.timeout ?? '300') || !(seconds > 0) || seconds > 86_400)
    throw new CliError('--timeout must be a number of seconds from 1 to 86400.', EXIT_USER, 'usage');
  const timeoutMs = Math.max(1, seconds) * 1000;
  const wanted = callbackPort(opts.port);
  await metadataFor(server); // fails fast (and clearly) when the server is down

  const callback = createServer();
  await new Promise<void>((resolve, reject) => {
    callback.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new CliError(
              `--port ${wanted}: 127.0.0.1:${wanted} is ${err.code === 'EADDRINUSE' ? 'already in use' : 'not allowed'}; choose another port or leave --port out.`,
              EXIT_USER,
              'usage',
            )
          : err,
      ),
    );
    // The CLI's client accepts any loopback port (RFC 8252 §7.3): 0 lets the system pick a free one.
    callback.listen(wanted, '127.0.0.1', () => resolve());
  });
  const { port } = callback.address() as { port: number };
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const oauth = authorizationCode({
    issuer: server,
    clientId: CLI_CLIENT_ID,
    redirectUri,
    scope: opts.scope ?? 'clavis:apps',
    retry: { retries: 1, baseDelayMs: 200 },
    timeoutMs: 15_000,
  });
  try {
    const request = await oauth.createAuthorizationRequest();
    process.stderr.write(
      `Open this URL in your browser to log in to ${server}:\n\n  ${request.url.href}\n\nWaiting for the browser (${timeoutMs / 1000} s)...\n`,
    );
    if (opts.browser !== false && !process.env.CLAVIS_NO_BROWSER) openBrowser(request.url.href);
    const tokens = await waitForCallback(
      callback,
      timeoutMs,
      (url) => sameState(url.searchParams.get('state'), request.state),
      async (url) => oauth.handleCallback(url, { state: request.state, codeVerifier: request.codeVerifier }),
    );
    return { tokens, clientId: CLI_CLIENT_ID };
  } finally {
    callback.closeAllConnections();
    callback.close();
  }
}

/** `--port`: the loopback callback's port, or 0 (any free port) when not given. */
function callbackPort(flag: string | undefined): number {
  if (flag === undefined) return 0;
  const port = Number(flag);
  if (!/^\d+$/.test(flag) || port < 1 || port > 65535)
    throw new CliError(`--port must be a port number from 1 to 65535, not "${flag}".`, EXIT_USER, 'usage');
  return port;
}

/**
 * Who a browser login signed in as: the server's `/api/v1/me` for the new token (its `email` when the
 * server gives one, else the user's `sub`), or undefined when the server does not say.
 */
async function signedInUser(server: string, accessToken: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${server}/api/v1/me`, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) return undefined;
    const me = (await res.json()) as { email?: unknown; sub?: unknown };
    if (typeof me.email === 'string' && me.email) return me.email;
    return typeof me.sub === 'string' && me.sub ? me.sub : undefined;
  } catch {
    return undefined;
  }
}

function sameState(got: string | null, expected: string): boolean {
  if (got === null) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Waits for the browser's redirect to /callback. A request whose `state` is not this login's (another tab, a
 * stale bookmark, or any local process poking the port) is answered with an error page and ignored: only the
 * real redirect ends the wait.
 */
function waitForCallback(
  server: Server,
  timeoutMs: number,
  isOurs: (url: URL) => boolean,
  handle: (url: string) => Promise<TokenSet>,
): Promise<TokenSet> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(
        new CliError(
          `no answer from the browser within ${timeoutMs / 1000} s. Run \`clavis login\` again (or raise --timeout).`,
          EXIT_USER,
          'timeout',
        ),
      );
    }, timeoutMs);
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback' || settled) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
        return;
      }
      if (!isOurs(url)) {
        res
          .writeHead(400, { 'content-type': 'text/html; charset=utf-8', connection: 'close' })
          .end(
            page(
              'Not this login',
              'This link does not belong to the login the terminal is waiting for (its state does not match), so it was ignored. Use the URL that `clavis login` printed.',
            ),
          );
        process.stderr.write(
          'clavis: ignored a callback whose state does not match this login; still waiting.\n',
        );
        return;
      }
      settled = true;
      clearTimeout(timer);
      handle(url.href).then(
        (tokens) => {
          res
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' })
            .end(page('Logged in', 'You are logged in to the Clavis CLI. You can close this tab.'));
          resolve(tokens);
        },
        (err: unknown) => {
          const mapped =
            err instanceof OAuthError && err.error === 'access_denied'
              ? new CliError('login was denied in the browser.', EXIT_USER, 'access_denied')
              : oauthFailure(err, url.href, 'the login');
          const message = mapped instanceof Error ? mapped.message : String(mapped);
          res
            .writeHead(400, { 'content-type': 'text/html; charset=utf-8', connection: 'close' })
            .end(page('Login failed', `${escapeHtml(message)} Go back to the terminal.`));
          reject(mapped);
        },
      );
    });
  });
}

export function registerLoginCommands(program: Command): void {
  remoteOptions(
    program
      .command('login')
      .description(
        'Log in to a Clavis server (browser with PKCE, a code entered on another device, or client credentials for automation)',
      ),
  )
    .option('--client-id <id>', 'log in as this client with client credentials (default: $CLAVIS_CLIENT_ID)')
    .option('--client-secret-stdin', 'read the client secret from stdin (with --client-id)')
    .option('--client-secret <secret>', 'client secret (discouraged: it lands in your shell history)')
    .option('--scope <scopes>', 'scopes to request (browser default: clavis:apps)')
    .option('--no-browser', 'do not try to open a browser; just print the URL')
    .option('--timeout <seconds>', 'how long to wait for the browser', '300')
    .option('--port <port>', "the browser callback's port on 127.0.0.1 (default: any free port)")
    .option(
      '--device',
      'log in with a code entered on another device (RFC 8628 device grant), for machines without a browser',
    )
    .addHelpText('after', LOGIN_EXAMPLES)
    .action(async (opts: LoginOptions) => {
      const server = resolveServer(opts.server);
      const machine =
        opts.clientId !== undefined ||
        opts.clientSecretStdin ||
        opts.clientSecret !== undefined ||
        (!!process.env.CLAVIS_CLIENT_ID && !!process.env.CLAVIS_CLIENT_SECRET);
      let tokens: TokenSet;
      let clientId: string;
      let meta: AuthorizationServerMetadata;
      if (opts.device && machine)
        throw new CliError(
          '--device logs a person in; it does not go with client credentials (--client-id, --client-secret*).',
          EXIT_USER,
          'usage',
        );
      if (opts.device) {
        meta = await metadataFor(server);
        clientId = CLI_CLIENT_ID;
        tokens = await deviceLogin(server, meta, {
          clientId,
          scope: opts.scope ?? 'clavis:apps',
          tokenEndpoint: meta.token_endpoint ?? `${server}/oauth/token`,
        });
      } else if (machine) {
        clientId = resolveClientId(opts.clientId);
        const clientSecret = await resolveClientSecret({
          flag: opts.clientSecret,
          stdin: opts.clientSecretStdin,
        });
        meta = await metadataFor(server);
        try {
          tokens = await clientCredentials({
            issuer: server,
            clientId,
            clientSecret,
            scope: opts.scope,
            retry: { retries: 1, baseDelayMs: 200 },
            timeoutMs: 15_000,
          }).getTokenResponse();
        } catch (err) {
          throw oauthFailure(err, server, 'logging in');
        }
      } else {
        meta = await metadataFor(server);
        ({ tokens, clientId } = await browserLogin(server, opts));
      }
      const login: SavedLogin = {
        server,
        grant: machine ? 'client_credentials' : opts.device ? DEVICE_GRANT_TYPE : 'authorization_code',
        client_id: clientId,
        token_endpoint: meta.token_endpoint ?? `${server}/oauth/token`,
        revocation_endpoint: (meta.revocation_endpoint as string | undefined) ?? undefined,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: tokens.expiresAt,
        scope: tokens.scope,
        saved_at: Date.now(),
      };
      await withCredentialsLock(async () => saveLogin(login));
      // A browser login acts for the signed-in user through the CLI's client; a machine login is the client.
      const user = machine ? undefined : await signedInUser(server, tokens.access_token);
      const who = machine ? clientId : (user ?? 'the signed-in user');
      if (opts.json)
        console.log(
          JSON.stringify({
            server,
            ...(machine ? {} : { user: user ?? null }),
            client_id: clientId,
            grant: login.grant,
            scope: login.scope ?? null,
            expires_at: login.expires_at ? new Date(login.expires_at).toISOString() : null,
            refreshable: !!login.refresh_token,
            credentials_file: credentialsPath(),
          }),
        );
      else
        console.log(
          `Logged in to ${server} as ${who}${machine ? '' : ` via ${clientId}`}${login.scope ? ` (scopes: ${login.scope})` : ''}. Token saved in ${credentialsPath()}.`,
        );
    });

  remoteOptions(program.command('logout').description('Revoke and delete the saved login for a server'))
    .option('--client-secret-stdin', 'client credentials logins: read the client secret from stdin')
    .option('--client-secret <secret>', 'client secret (discouraged: it lands in your shell history)')
    .addHelpText('after', LOGOUT_EXAMPLES)
    .action(
      async (opts: {
        server?: string;
        json?: boolean;
        clientSecretStdin?: boolean;
        clientSecret?: string;
      }) => {
        const server = resolveServer(opts.server);
        const login = getLogin(server);
        if (!login) {
          if (opts.json) console.log(JSON.stringify({ server, logged_out: false, revoked: false }));
          else console.log(`Not logged in to ${server}; nothing to do.`);
          return;
        }
        let revoked = false;
        let what = '';
        let warning: string | undefined;
        if (!login.revocation_endpoint) {
          warning = 'the server has no revocation endpoint, so the token stays valid until it expires';
        } else if (
          (login.grant === 'authorization_code' || login.grant === DEVICE_GRANT_TYPE) &&
          login.refresh_token
        ) {
          // Public client (clavis-cli): revoked with client_id alone (RFC 7009 §2.1); the grant's access
          // tokens go with it.
          what = 'refresh token';
          ({ revoked, warning } = await revokeToken(
            login.revocation_endpoint,
            { token: login.refresh_token, token_type_hint: 'refresh_token', client_id: login.client_id },
            {},
            what,
          ));
        } else if (login.grant === 'client_credentials') {
          // A confidential client has to authenticate to revoke its token; the secret is never saved.
          what = 'access token';
          const secret = await findClientSecret({ flag: opts.clientSecret, stdin: opts.clientSecretStdin });
          if (secret)
            ({ revoked, warning } = await revokeToken(
              login.revocation_endpoint,
              { token: login.access_token, token_type_hint: 'access_token' },
              { authorization: clientSecretBasic(login.client_id, secret) },
              what,
            ));
          else
            warning = `the access token was NOT revoked and works until ${
              login.expires_at ? new Date(login.expires_at).toISOString() : 'it expires'
            }: to revoke it, run logout with CLAVIS_CLIENT_SECRET set or --client-secret-stdin`;
        }
        await withCredentialsLock(async () => removeLogin(server));
        if (warning)
          process.stderr.write(`clavis: warning: ${warning}; the local login was deleted anyway.\n`);
        if (opts.json) console.log(JSON.stringify({ server, logged_out: true, revoked }));
        else console.log(`Logged out of ${server}${revoked ? ` (${what} revoked)` : ''}.`);
      },
    );
}

const LOGOUT_EXAMPLES = `
A browser login's refresh token is revoked (and with it the access token). A client credentials login's
access token is revoked too when the client secret is given (CLAVIS_CLIENT_SECRET, --client-secret-stdin
or the prompt); the secret is never saved, so logout asks for it again.

Examples:
  $ clavis logout
  $ clavis logout --server https://auth.example.com
  $ CLAVIS_CLIENT_SECRET=... clavis logout --server https://auth.example.com
`;

/** Sends one RFC 7009 revocation request; a failure is a warning, since the local login is deleted anyway. */
async function revokeToken(
  endpoint: string,
  params: Record<string, string>,
  headers: Record<string, string>,
  what: string,
): Promise<{ revoked: boolean; warning?: string }> {
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...headers,
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    if (res.ok) return { revoked: true };
    let error = '';
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === 'string') error = ` ${body.error}`;
    } catch {}
    const hint = error === ' invalid_client' ? ': check the client secret' : '';
    return {
      revoked: false,
      warning: `the server refused to revoke the ${what} (HTTP ${res.status}${error})${hint}`,
    };
  } catch (err) {
    return { revoked: false, warning: unreachable(endpoint, err).message };
  }
}
