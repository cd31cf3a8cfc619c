import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, deleteApi, updateApi } from '../src/domain/apis.js';
import { removeAppPermission, requestAppPermission } from '../src/domain/app-permissions.js';
import { CLI, waitUntilReady } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  freePort,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { exited } from './helpers/wait.js';

/**
 * Two server processes on one database (this test's in-process server, node A, and a `clavis serve` child,
 * node B): a permission or API changed through A is enforced by B on its very next token request, although
 * B serves clients and APIs from its caches.
 */
let db: TestDatabase;
let a: TestServer;
let b: { url: string; proc: ChildProcess };
const key = randomBytes(32).toString('base64url');
const issuer = 'http://clavis.test';

beforeAll(async () => {
  db = await createTestDatabase();
  a = await startTestServer({ db, env: { CLAVIS_SECRET_KEY: key, CLAVIS_ISSUER: issuer } });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CLAVIS_ISSUER: issuer,
      CLAVIS_DATABASE_URL: db.url,
      CLAVIS_SECRET_KEY: key,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitUntilReady(url, proc);
  b = { url, proc };
}, 60_000);

afterAll(async () => {
  if (b) {
    b.proc.kill('SIGTERM');
    await exited(b.proc);
  }
  await a?.close({ keepDatabase: true });
  await db?.drop();
});

const cc = (url: string, id: string, secret: string, body: Record<string, string>) =>
  postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials', ...body },
    { authorization: basicAuth(id, secret) },
  );

describe('permissions and APIs across nodes', () => {
  it('a removed permission is refused by the other node on its very next token request', async () => {
    const ctx = a.server.services.ctx;
    const admin = await adminActor(a);
    const api = await createApi(ctx, admin, {
      identifier: 'https://cluster.example.com/api',
      name: 'Cluster API',
      scopes: [
        { name: 'jobs:read', description: 'Read jobs', admin_consent_required: false },
        { name: 'jobs:run', description: 'Run jobs', admin_consent_required: false },
      ],
    });
    const { app, secret } = await createTestApp(a);
    // A new API and permission are served by B at once (its catalogue and client caches drop).
    await requestAppPermission(ctx, admin, app.id, api.id, ['jobs:read', 'jobs:run']);
    const body = { resource: api.identifier, scope: 'jobs:read' };
    for (let i = 0; i < 3; i++) {
      expect((await cc(b.url, app.client_id, secret!, body)).status).toBe(200);
      expect((await cc(a.server.url, app.client_id, secret!, body)).status).toBe(200);
    }
    // Narrowed through A: B refuses the scope taken away, keeps the other.
    await requestAppPermission(ctx, admin, app.id, api.id, ['jobs:run']);
    expect((await cc(b.url, app.client_id, secret!, body)).json.error).toBe('invalid_scope');
    expect((await cc(b.url, app.client_id, secret!, { ...body, scope: 'jobs:run' })).status).toBe(200);
    // Removed through A: B refuses at once, again and again.
    await removeAppPermission(ctx, admin, app.id, api.id);
    for (let i = 0; i < 3; i++) {
      const r = await cc(b.url, app.client_id, secret!, { ...body, scope: 'jobs:run' });
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_scope');
    }
    // Given back, then the API closed to client_credentials: B answers unauthorized_client at once.
    await requestAppPermission(ctx, admin, app.id, api.id, ['jobs:run']);
    expect((await cc(b.url, app.client_id, secret!, { ...body, scope: 'jobs:run' })).status).toBe(200);
    await updateApi(ctx, admin, api.id, { allow_client_credentials: false });
    expect((await cc(b.url, app.client_id, secret!, { ...body, scope: 'jobs:run' })).json.error).toBe(
      'unauthorized_client',
    );
    // Deleted (force): B no longer knows the API.
    await deleteApi(ctx, admin, api.id, { force: true });
    expect((await cc(b.url, app.client_id, secret!, { ...body, scope: 'jobs:run' })).json.error).toBe(
      'invalid_target',
    );
  });
});
