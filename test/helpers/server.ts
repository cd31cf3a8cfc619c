import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/start.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/**
 * Finds a free TCP port on loopback. The port is released before it is returned, so another process may take
 * it first: only for servers that must be given a port (spawned CLIs); {@link startTestServer} binds port 0.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Collects every log line a server writes. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestServer {
  /** Base URL, equal to the issuer. */
  url: string;
  server: RunningServer;
  config: Config;
  db: TestDatabase;
  logs: LogCapture;
  /** The bootstrap management client (scopes clavis:apps clavis:admin). */
  bootstrapClient: { id: string; secret: string };
  admin: { email: string; password: string };
  /** Stops the server; drops the database unless `keepDatabase`. */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

/** An HTTP server bound to a port the kernel chose on loopback, which Fastify serves once it is built. */
async function boundHttpServer() {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const http = createHttpServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    http,
    port: (http.address() as { port: number }).port,
    serve(h: (req: IncomingMessage, res: ServerResponse) => void) {
      handler = h;
      return http;
    },
    close(): Promise<void> {
      http.closeAllConnections();
      return new Promise((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * Starts a real Clavis server on loopback with a fresh database (SQLite or PostgreSQL per `CLAVIS_TEST_DB`),
 * a bootstrap admin and a bootstrap client. The socket is bound to port 0 first and kept, so no other
 * process can take the port between choosing it and serving on it; the issuer names the bound port.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    db?: TestDatabase;
    now?: () => number;
    logLevel?: string;
    /** `false`: the server never scans for expiring secrets by itself (the test calls the scan). */
    expiryScan?: boolean;
  } = {},
): Promise<TestServer> {
  const db = options.db ?? (await createTestDatabase());
  const bound = await boundHttpServer();
  const port = bound.port;
  const bootstrapClient = {
    id: `boot-${randomBytes(4).toString('hex')}`,
    secret: randomBytes(32).toString('base64url'),
  };
  const admin = { email: 'admin@clavis.test', password: 'correct horse battery staple' };
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    CLAVIS_ISSUER: `http://127.0.0.1:${port}`,
    CLAVIS_DATABASE_URL: db.url,
    CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url'),
    LOG_LEVEL: options.logLevel ?? 'warn',
    CLAVIS_BOOTSTRAP_ADMIN_EMAIL: admin.email,
    CLAVIS_BOOTSTRAP_ADMIN_PASSWORD: admin.password,
    CLAVIS_BOOTSTRAP_CLIENT_ID: bootstrapClient.id,
    CLAVIS_BOOTSTRAP_CLIENT_SECRET: bootstrapClient.secret,
    // Suites sign up many sandboxes from one address; test/signup-throttle.test.ts sets its own limit.
    CLAVIS_SIGNUP_RATE: '1000/1000',
    ...options.env,
  };
  const config = loadConfig(env);
  const logs = new LogCapture();
  let server: RunningServer;
  try {
    const running = await startServer(config, {
      logStream: logs,
      now: options.now,
      listen: false,
      expiryScan: options.expiryScan,
      serverFactory: (handler) => bound.serve(handler),
    });
    await running.app.ready();
    // Where it listens: the bound socket (the issuer may name another host, e.g. https behind a proxy).
    server = { ...running, url: `http://127.0.0.1:${port}` };
  } catch (err) {
    await bound.close();
    throw err;
  }
  return {
    url: config.issuer,
    server,
    config,
    db,
    logs,
    bootstrapClient,
    admin,
    async close(opts = {}) {
      await server.close();
      await bound.close();
      if (!opts.keepDatabase && !options.db) await db.drop();
    },
  };
}

/** `Authorization: Basic` for a client, form-encoding both parts as RFC 6749 §2.3.1 says. */
export function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** POSTs a form to the server and returns status, headers and parsed JSON (or text). */
export async function postForm(
  url: string,
  body: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

/** Gets a client_credentials token for the bootstrap client (management scopes). */
export async function managementToken(ts: TestServer, scope?: string): Promise<string> {
  const body: Record<string, string> = { grant_type: 'client_credentials' };
  if (scope) body.scope = scope;
  const r = await postForm(`${ts.url}/oauth/token`, body, {
    authorization: basicAuth(ts.bootstrapClient.id, ts.bootstrapClient.secret),
  });
  if (r.status !== 200) throw new Error(`management token failed: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

/** The default tenant's id (created at bootstrap). */
export async function defaultTenantId(ts: TestServer): Promise<string> {
  const row = await ts.server.services.ctx.db
    .selectFrom('tenants')
    .select('id')
    .where('kind', '=', 'default')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Registers an app straight through the domain layer (as a platform admin in the default tenant) and
 * returns it with its first secret's value (confidential apps).
 */
export async function createTestApp(
  ts: TestServer,
  input: Partial<import('../../src/domain/apps.js').AppInput> = {},
  options: import('../../src/domain/apps.js').CreateAppOptions = {},
): Promise<{ app: import('../../src/domain/apps.js').App; secret: string | null; secretId: string | null }> {
  const { createApp } = await import('../../src/domain/apps.js');
  const tenantId = options.tenantId ?? (await defaultTenantId(ts));
  const { app, secret } = await createApp(
    ts.server.services.ctx,
    { id: 'user:test-admin', tenantId, role: 'admin', platformAdmin: true },
    {
      name: 'Test app',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
      scopes: ['contacts:read', 'contacts:write', 'profile:read'],
      default_scopes: ['contacts:read'],
      ...input,
    },
    { tenantId, ...options },
  );
  return { app, secret: secret?.value ?? null, secretId: secret?.id ?? null };
}

/** A platform-admin actor in the default tenant, for calling domain functions in tests. */
export async function adminActor(ts: TestServer): Promise<import('../../src/domain/context.js').Actor> {
  return { id: 'user:test-admin', tenantId: await defaultTenantId(ts), role: 'admin', platformAdmin: true };
}
