import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { freePort } from './helpers/server.js';

/**
 * The caching rule on SQLite: with CLAVIS_WORKERS=2 (two processes on one database file), a secret
 * refreshed or an app disabled through one worker is refused by the other on its very next request.
 * Every request below opens a new connection, so the kernel spreads them over both workers.
 */
const dir = mkdtempSync(join(tmpdir(), 'clavis-cluster-'));
const OPS_SECRET = randomBytes(32).toString('base64url');
let port = 0;
let child: ReturnType<typeof spawnCli> | undefined;

type Res = { status: number; body: any; pid?: string };
function call(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { ...headers, connection: 'close' }, agent: false },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(data);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const token = (id: string, secret: string) =>
  call(
    'POST',
    '/oauth/token',
    { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    'grant_type=client_credentials',
  );

beforeAll(async () => {
  port = await freePort();
  child = spawnCli(['serve'], {
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      CLAVIS_WORKERS: '2',
      CLAVIS_DATABASE_URL: `sqlite:${join(dir, 'c.db')}`,
      CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url'),
      CLAVIS_BOOTSTRAP_CLIENT_ID: 'ops',
      CLAVIS_BOOTSTRAP_CLIENT_SECRET: OPS_SECRET,
      LOG_LEVEL: 'warn',
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  for (;;) {
    if (/2 workers/.test(out)) break;
    if (Date.now() - t0 > 30_000) throw new Error(`cluster did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('cluster mode on SQLite', () => {
  it('a secret refreshed or an app disabled through one worker is refused by every worker at once', async () => {
    const mgmt = (await token('ops', OPS_SECRET)).body.access_token as string;
    const api = (method: string, path: string, body?: unknown) =>
      call(
        method,
        `/api/v1${path}`,
        { authorization: `Bearer ${mgmt}`, 'content-type': 'application/json' },
        body === undefined ? undefined : JSON.stringify(body),
      );
    const created = await api('POST', '/apps', {
      name: 'Cluster app',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
    });
    expect(created.status).toBe(201);
    const app = created.body;
    const { id: secretId, value: oldSecret } =
      app.secret ?? (await api('POST', `/apps/${app.id}/secrets`)).body;

    let secret = oldSecret as string;
    let id = secretId as string;
    for (let round = 0; round < 5; round++) {
      // Warm both workers' caches with the current secret.
      for (let i = 0; i < 6; i++) expect((await token(app.client_id, secret)).status).toBe(200);
      const refreshed = await api('POST', `/apps/${app.id}/secrets/${id}/refresh`);
      expect(refreshed.status).toBe(201);
      const [old, fresh] = [secret, refreshed.body.value as string];
      const results = await Promise.all(Array.from({ length: 8 }, () => token(app.client_id, old)));
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(401));
      expect((await token(app.client_id, fresh)).status).toBe(200);
      secret = fresh;
      id = refreshed.body.id;
    }
    for (let i = 0; i < 6; i++) expect((await token(app.client_id, secret)).status).toBe(200);
    expect((await api('POST', `/apps/${app.id}/disable`)).status).toBe(200);
    const afterDisable = await Promise.all(Array.from({ length: 8 }, () => token(app.client_id, secret)));
    expect(afterDisable.map((r) => r.status)).toEqual(Array(8).fill(401));
  }, 60_000);
});
