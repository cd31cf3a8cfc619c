/**
 * Test fixtures: a real oidc-provider authorization server and tiny node:http servers, all on 127.0.0.1 with a
 * random port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type Handler = (req: RecordedRequest, res: http.ServerResponse, raw: http.IncomingMessage) => unknown;

/** Starts a node:http server that records every request (with its body) before calling `handler`. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const req = {
        method: raw.method ?? 'GET',
        url: raw.url ?? '/',
        headers: raw.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(req);
      Promise.resolve(handler(req, res, raw)).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export const API = 'https://api.example';
export const REDIRECT_URI = 'http://127.0.0.1/cb';
/** A secret with characters that must be form-encoded before HTTP Basic (RFC 6749 §2.3.1). */
export const SVC_SECRET = 'p@ss word:+/%~';

export interface TestAuthorizationServer {
  issuer: string;
  provider: Provider;
  /** Requests that reached the token endpoint (headers only). */
  tokenRequests: RecordedRequest[];
  /** Every request, in order (method + path). */
  log: string[];
  privateJwk: JWK;
  publicJwk: JWK;
  close(): Promise<void>;
}

/**
 * Starts oidc-provider v9 as the peer authorization server: client credentials, resource indicators (JWT access
 * tokens for `https://api.example`, ES256, `accessTokenTTL` seconds), authorization code with devInteractions,
 * rotating refresh tokens.
 */
export async function startAuthorizationServer(
  options: { accessTokenTTL?: number } = {},
): Promise<TestAuthorizationServer> {
  const ttl = options.accessTokenTTL ?? 300;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };

  const tokenRequests: RecordedRequest[] = [];
  const log: string[] = [];
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const common = { id_token_signed_response_alg: 'ES256' };

  const provider = new Provider(issuer, {
    clients: [
      {
        ...common,
        client_id: 'svc',
        client_secret: SVC_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
      {
        ...common,
        client_id: 'svc-post',
        client_secret: 'post-secret',
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
      {
        ...common,
        client_id: 'web',
        client_secret: 'web-secret',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [REDIRECT_URI],
        response_types: ['code'],
      },
      {
        ...common,
        client_id: 'spa',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [REDIRECT_URI],
        response_types: ['code'],
      },
    ],
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read write',
          accessTokenFormat: 'jwt',
          accessTokenTTL: ttl,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    issueRefreshToken: () => true,
    rotateRefreshToken: true,
    jwks: { keys: [privateJwk] },
  });

  const callback = provider.callback();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    log.push(`${req.method} ${path}`);
    if (path === '/token') {
      // Body left unread: oidc-provider consumes the stream itself.
      tokenRequests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
    }
    callback(req, res);
  });

  return {
    issuer,
    provider,
    tokenRequests,
    log,
    privateJwk,
    publicJwk,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Plays the user agent through oidc-provider's devInteractions (login, then consent) and returns the final
 * redirect to the client's redirect_uri. `abort: true` cancels at the login prompt (→ error=access_denied).
 */
export async function authorizeInBrowser(
  authorizationUrl: URL,
  options: { abort?: boolean } = {},
): Promise<string> {
  const jar = new Map<string, string>();
  const go = async (url: URL, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie },
    });
    for (const setCookie of res.headers.getSetCookie()) {
      const pair = setCookie.split(';')[0]!;
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  };

  let res = await go(authorizationUrl);
  for (let hops = 0; hops < 12; hops++) {
    const location = res.headers.get('location');
    if (!location) throw new Error(`expected a redirect, got ${res.status}: ${await res.text()}`);
    if (location.startsWith(REDIRECT_URI)) return location;
    const next = new URL(location, authorizationUrl);
    if (next.pathname.startsWith('/interaction/')) {
      const page = await (await go(next)).text();
      if (options.abort) {
        res = await go(new URL(`${next.pathname}/abort`, next));
        continue;
      }
      const prompt = page.includes('value="login"') ? 'login' : 'consent';
      res = await go(next, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt, login: 'alice', password: 'any' }).toString(),
      });
    } else {
      res = await go(next);
    }
  }
  throw new Error('too many redirects');
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true; throws, naming `what`, after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}
