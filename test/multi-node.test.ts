import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, waitUntilReady } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { basicAuth, freePort, postForm } from './helpers/server.js';
import { exited } from './helpers/wait.js';

/**
 * Two real server processes (the built CLI, `clavis serve`) on one database. A change made through one
 * node must be enforced by the other on its very next request: nothing security-relevant may be served
 * from a stale cache.
 */

interface Node {
  url: string;
  proc: ChildProcess;
}

let db: TestDatabase;
let a: Node;
let b: Node;
const key = randomBytes(32).toString('base64url');
const boot = { id: 'multi-node-boot', secret: randomBytes(32).toString('base64url') };

async function startNode(): Promise<Node> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CLAVIS_ISSUER: 'http://clavis.test',
      CLAVIS_DATABASE_URL: db.url,
      CLAVIS_SECRET_KEY: key,
      LOG_LEVEL: 'warn',
      CLAVIS_BOOTSTRAP_ADMIN_PASSWORD: 'multi-node-password',
      CLAVIS_BOOTSTRAP_CLIENT_ID: boot.id,
      CLAVIS_BOOTSTRAP_CLIENT_SECRET: boot.secret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitUntilReady(url, proc);
  return { url, proc };
}

beforeAll(async () => {
  db = await createTestDatabase();
  a = await startNode();
  b = await startNode();
});
afterAll(async () => {
  const nodes = [a, b].filter((n): n is Node => !!n);
  for (const n of nodes) n.proc.kill('SIGTERM');
  await Promise.all(nodes.map((n) => exited(n.proc)));
  await db?.drop();
});

async function token(node: Node, id: string, secret: string) {
  return postForm(
    `${node.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuth(id, secret) },
  );
}

async function api(node: Node, path: string, method = 'GET', body?: unknown) {
  const t = (await token(node, boot.id, boot.secret)).json.access_token;
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

describe('two nodes, one database', () => {
  it('a secret refreshed through one node is refused by the other on its very next request', async () => {
    const created = await api(a, '/api/v1/apps', 'POST', {
      name: 'Multi-node app',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
      scopes: ['contacts:read'],
    });
    expect(created.status).toBe(201);
    const app = created.json;
    const first = app.secret?.value ?? app.client_secret?.value;
    expect(typeof first).toBe('string');
    // Warm both nodes with the first secret.
    expect((await token(a, app.client_id, first)).status).toBe(200);
    expect((await token(b, app.client_id, first)).status).toBe(200);
    const secrets = await api(a, `/api/v1/apps/${app.id}/secrets`);
    const secretId = secrets.json.items[0].id;
    const refreshed = await api(a, `/api/v1/apps/${app.id}/secrets/${secretId}/refresh`, 'POST', {});
    expect(refreshed.status).toBe(201);
    const second = refreshed.json.value;
    // The very next request to the other node refuses the old secret and accepts the new one.
    expect((await token(b, app.client_id, first)).status).toBe(401);
    expect((await token(b, app.client_id, second)).status).toBe(200);
    expect((await token(a, app.client_id, first)).status).toBe(401);
    // Again and again: each refresh through A is enforced by B's cache on the very next request.
    let current = second;
    for (let i = 0; i < 10; i++) {
      expect((await token(b, app.client_id, current)).status).toBe(200);
      const list = await api(a, `/api/v1/apps/${app.id}/secrets`);
      const active = list.json.items.find((s: { revoked_at: string | null }) => s.revoked_at === null);
      const next = (await api(a, `/api/v1/apps/${app.id}/secrets/${active.id}/refresh`, 'POST', {})).json
        .value;
      expect((await token(b, app.client_id, current)).status).toBe(401);
      current = next;
    }
    expect((await token(b, app.client_id, current)).status).toBe(200);
  });

  it('an app disabled through one node gets no tokens from the other', async () => {
    const created = await api(b, '/api/v1/apps', 'POST', {
      name: 'Disable me',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://app.example/cb',
    });
    const app = created.json;
    const secret = app.secret?.value ?? app.client_secret?.value;
    const t = (await token(a, app.client_id, secret)).json.access_token;
    expect((await api(b, `/api/v1/apps/${app.id}/disable`, 'POST', {})).status).toBe(200);
    expect((await token(a, app.client_id, secret)).status).toBe(401);
    const intro = await postForm(
      `${a.url}/oauth/introspect`,
      { token: t },
      { authorization: basicAuth(boot.id, boot.secret) },
    );
    expect(intro.json).toEqual({ active: false });
  });

  it('a token revoked through one node is refused by the other at once', async () => {
    const t = (await token(a, boot.id, boot.secret)).json.access_token;
    const me = () => fetch(`${b.url}/api/v1/me`, { headers: { authorization: `Bearer ${t}` } });
    expect((await me()).status).toBe(200);
    const rev = await postForm(
      `${a.url}/oauth/revoke`,
      { token: t },
      { authorization: basicAuth(boot.id, boot.secret) },
    );
    expect(rev.status).toBe(200);
    expect((await me()).status).toBe(401);
    const intro = await postForm(
      `${b.url}/oauth/introspect`,
      { token: t },
      { authorization: basicAuth(boot.id, boot.secret) },
    );
    expect(intro.json).toEqual({ active: false });
  });

  it('a token issued by one node verifies on the other (shared signing keys)', async () => {
    const t = (await token(a, boot.id, boot.secret)).json.access_token;
    const me = await fetch(`${b.url}/api/v1/me`, { headers: { authorization: `Bearer ${t}` } });
    expect(me.status).toBe(200);
  });
});
