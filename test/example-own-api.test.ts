import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempConfigDir, waitUntilReadyAt } from './helpers/cli.js';
import { basicAuth, freePort, postForm, startTestServer, type TestServer } from './helpers/server.js';

// examples/own-api end to end: the CLI registers the Orders API and an app (setup.sh), the example's own
// Fastify server protects its routes with the SDK, and its client_credentials caller gets a token for it.
const run = promisify(execFile);
const DIR = join(import.meta.dirname, '..', 'examples', 'own-api');
const ROOT = join(import.meta.dirname, '..');
const IDENTIFIER = 'https://orders.example.com';

let ts: TestServer;
let configDir: string;
let env: NodeJS.ProcessEnv;
let orders: ChildProcess | undefined;
let ordersUrl: string;
let creds: { CLAVIS_CLIENT_ID: string; CLAVIS_CLIENT_SECRET: string };

beforeAll(async () => {
  ts = await startTestServer();
  configDir = tempConfigDir();
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CLAVIS_')) base[k] = v;
  env = {
    ...base,
    CLAVIS_CONFIG_DIR: configDir,
    CLAVIS_SERVER: ts.url,
    CLAVIS_ISSUER: ts.url,
    CLAVIS_NO_BROWSER: '1',
    CLAVIS_CLI: `${process.execPath} ${CLI}`,
    ORDERS_API_IDENTIFIER: IDENTIFIER,
  };
  const login = await runCli(
    ['login', '--server', ts.url, '--client-id', ts.bootstrapClient.id, '--client-secret-stdin'],
    { env: { CLAVIS_CONFIG_DIR: configDir }, input: ts.bootstrapClient.secret },
  );
  expect(login.stderr).toBe('');
}, 60_000);
afterAll(async () => {
  orders?.kill('SIGTERM');
  await ts?.close();
});

/** Runs a command; resolves with the exit code instead of throwing. */
async function sh(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(file, args, { env: { ...env, ...extraEnv }, cwd: DIR, timeout: 90_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const clavis = (args: string[]) => runCli(args, { env: { CLAVIS_CONFIG_DIR: configDir } });

async function token(form: Record<string, string>) {
  return postForm(`${ts.url}/oauth/token`, form, {
    authorization: basicAuth(creds.CLAVIS_CLIENT_ID, creds.CLAVIS_CLIENT_SECRET),
  });
}

describe('examples/own-api', () => {
  it('setup.sh registers the API, the app and its permission with the CLI', async () => {
    const r = await sh('sh', ['setup.sh']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Created API Orders API: identifier ${IDENTIFIER}`);
    const exports = Object.fromEntries(
      [...r.stdout.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(exports.ORDERS_API_IDENTIFIER).toBe(IDENTIFIER);
    creds = exports as typeof creds;
    expect(creds.CLAVIS_CLIENT_ID).toMatch(/^\w+$/);
    const list = await clavis(['apps', 'permissions', 'list', creds.CLAVIS_CLIENT_ID, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const mine = JSON.parse(list.stdout).items.find(
      (p: { identifier: string }) => p.identifier === IDENTIFIER,
    );
    expect(mine).toMatchObject({ scopes: ['orders:read', 'orders:write'], status: 'granted' });
  }, 90_000);

  it('the server and the client compile; the client reads and writes orders, and is refused a refund', async () => {
    const tsc = await sh(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(DIR, 'tsconfig.json'),
    ]);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    const port = await freePort();
    ordersUrl = `http://127.0.0.1:${port}`;
    orders = spawn(process.execPath, [join(DIR, 'dist/server.js')], {
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitUntilReadyAt(`${ordersUrl}/health`, orders);

    const r = await sh(process.execPath, [join(DIR, 'dist/client.js')], {
      ...creds,
      ORDERS_API_URL: ordersUrl,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      `Token for ${IDENTIFIER} with scope "orders:read orders:write"`,
      'GET /orders: 2 orders',
      `POST /orders: created o-3 (by ${creds.CLAVIS_CLIENT_ID})`,
      'POST /orders/o-1/refund: 403 insufficient_scope',
    ]);
  }, 120_000);

  it('the API refuses tokens for other APIs (401) and a missing token; Clavis refuses scopes not granted', async () => {
    const sample = await token({ grant_type: 'client_credentials' });
    // A token for the default (sample) API: the Orders API refuses it by its audience.
    expect(sample.status, sample.text).toBe(200);
    const res = await fetch(`${ordersUrl}/orders`, {
      headers: { authorization: `Bearer ${sample.json.access_token}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const none = await fetch(`${ordersUrl}/orders`);
    expect(none.status).toBe(401);

    const refund = await token({
      grant_type: 'client_credentials',
      resource: IDENTIFIER,
      scope: 'orders:refund',
    });
    expect(refund.status).toBe(400);
    expect(refund.json.error).toBe('invalid_scope');
    const unknown = await token({
      grant_type: 'client_credentials',
      resource: 'https://nothing.example.com',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toBe('invalid_target');
  });

  it('clavis token --resource --decode shows the aud and scope; after `permissions remove` no more tokens', async () => {
    const decoded = await runCli(
      ['token', '--server', ts.url, '--resource', IDENTIFIER, '--scope', 'orders:read', '--decode'],
      { env: { CLAVIS_CLIENT_ID: creds.CLAVIS_CLIENT_ID, CLAVIS_CLIENT_SECRET: creds.CLAVIS_CLIENT_SECRET } },
    );
    expect(decoded.code, decoded.stderr).toBe(0);
    const { header, claims } = JSON.parse(decoded.stdout);
    expect(header.typ).toBe('at+jwt');
    expect(claims).toMatchObject({
      aud: IDENTIFIER,
      scope: 'orders:read',
      client_id: creds.CLAVIS_CLIENT_ID,
    });

    const removed = await clavis([
      'apps',
      'permissions',
      'remove',
      creds.CLAVIS_CLIENT_ID,
      IDENTIFIER,
      '--yes',
    ]);
    expect(removed.code, removed.stderr).toBe(0);
    const after = await runCli(
      ['token', '--server', ts.url, '--resource', IDENTIFIER, '--scope', 'orders:read'],
      { env: { CLAVIS_CLIENT_ID: creds.CLAVIS_CLIENT_ID, CLAVIS_CLIENT_SECRET: creds.CLAVIS_CLIENT_SECRET } },
    );
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/^clavis: the token request failed \(invalid_scope/);
    // The client asks for every granted scope, now none: Clavis refuses the token request itself
    // (invalid_scope, RFC 6749 §3.3) rather than issue a token for the API that grants nothing.
    const client = await sh(process.execPath, [join(DIR, 'dist/client.js')], {
      ...creds,
      ORDERS_API_URL: ordersUrl,
    });
    expect(client.code).toBe(1);
    expect(client.stderr).toMatch(/^Clavis refused the token request: invalid_scope/);
  }, 60_000);
});
