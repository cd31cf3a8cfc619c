import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateApp } from '../src/domain/apps.js';
import { BACKCHANNEL_LOGOUT_KIND } from '../src/domain/oidc.js';
import { parseForms } from './helpers/browser.js';
import { CLI, waitUntilReady } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { exchange, getCode } from './helpers/flow.js';
import { adminActor, createTestApp, freePort, startTestServer, type TestServer } from './helpers/server.js';
import { createUser } from './helpers/users.js';
import { exited, waitFor } from './helpers/wait.js';

/**
 * Back-channel logout survives a restart: a node signs the user out (the logout is queued in the outbox)
 * and stops before delivering it; a fresh `clavis serve` process on the same database delivers it.
 */
const key = randomBytes(32).toString('base64url');
let db: TestDatabase;
let ts: TestServer | undefined;
let node: ChildProcess | undefined;
let rp: Server;
const received: string[] = [];

beforeAll(async () => {
  rp = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.end();
    });
  });
  await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
  db = await createTestDatabase();
});
afterAll(async () => {
  if (node && node.exitCode === null && node.signalCode === null) {
    node.kill('SIGTERM');
    await exited(node);
  }
  await ts?.close({ keepDatabase: true });
  await new Promise<void>((r) => rp.close(() => r()));
  await db?.drop();
});

describe('back-channel logout across a restart', () => {
  it('a logout queued by a node that stopped is delivered by a fresh process', async () => {
    const rpUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/bc`;
    // The first node's outbox worker never runs: it stops with the logout still queued.
    ts = await startTestServer({
      db,
      env: { CLAVIS_SECRET_KEY: key, CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true', CLAVIS_OUTBOX_POLL_MS: '600000' },
    });
    const issuer = ts.url;
    const created = await createTestApp(ts, { callback_url: 'http://127.0.0.1/cb' });
    const app = await updateApp(ts.server.services.ctx, await adminActor(ts), created.app.id, {
      backchannel_logout_uri: rpUrl,
    });
    const user = await createUser(ts);
    const { code, browser, verifier } = await getCode(ts, app, user, { scope: 'openid' });
    const tokens = await exchange(ts, app, created.secret, code, verifier);
    expect(tokens.status).toBe(200);
    const sid = decodeJwt((tokens.json as { id_token: string }).id_token).sid;
    const home = await browser.get(`${ts.url}/account/connected-apps`);
    const csrf = parseForms(home.html).find((f) => f.action === '/logout')!.fields.csrf!;
    expect((await browser.post(`${ts.url}/logout`, { csrf })).status).toBe(303);
    const queued = await ts.server.services.ctx.db
      .selectFrom('outbox')
      .select(['status'])
      .where('kind', '=', BACKCHANNEL_LOGOUT_KIND)
      .execute();
    expect(queued).toEqual([{ status: 'pending' }]);
    await ts.close({ keepDatabase: true });
    ts = undefined;
    expect(received).toHaveLength(0);

    // A fresh process (same database, key and issuer) picks it up.
    const port = await freePort();
    node = spawn(process.execPath, [CLI, 'serve'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        CLAVIS_DATABASE_URL: db.url,
        CLAVIS_SECRET_KEY: key,
        CLAVIS_ISSUER: issuer,
        CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true',
        CLAVIS_OUTBOX_POLL_MS: '50',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitUntilReady(`http://127.0.0.1:${port}`, node);
    await waitFor(() => received.length > 0, { what: 'the logout token', timeoutMs: 15_000 });
    expect(received).toHaveLength(1);
    const { payload } = await jwtVerify(
      received[0]!,
      createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`)),
      { issuer, audience: app.client_id, typ: 'logout+jwt' },
    );
    expect(payload).toMatchObject({ sub: user.user.id, sid });
  }, 60_000);
});
