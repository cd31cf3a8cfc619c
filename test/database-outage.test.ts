import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { isConnectionError } from '../src/db/errors.js';
import { Browser, parseForms } from './helpers/browser.js';
import { createTestDatabase, PG_URL, TEST_DB } from './helpers/db.js';
import {
  basicAuth,
  freePort,
  managementToken,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

/**
 * A database outage while the server runs: every endpoint that needs the database answers 503 with
 * Retry-After in its own error format (never a 500), and the outage is logged once, not per request.
 */
let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

async function pgAdmin(sql: string, params: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Drives the token endpoint, the management API and the sign-in page through an outage. */
async function assertOutageAnswers(
  server: TestServer,
  token: string,
  signIn: { cookie: string; csrf: string },
) {
  for (let i = 0; i < 4; i++) {
    const r = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(server.bootstrapClient.id, server.bootstrapClient.secret) },
    );
    expect(r.status).toBe(503);
    expect(r.json.error).toBe('temporarily_unavailable');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(r.headers.get('cache-control')).toBe('no-store');
  }
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${server.url}/api/v1/apps`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await res.json()).status).toBe(503);
  }
  const page = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: {
      accept: 'text/html',
      cookie: signIn.cookie,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ email: 'someone@clavis.test', password: 'pw', csrf: signIn.csrf }).toString(),
  });
  expect(page.status).toBe(503);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(await page.text()).toContain('Temporarily unavailable');
}

function assertLoggedOnce(server: TestServer) {
  const lines = server.logs.lines.map((l) => JSON.parse(l) as { msg?: string; err?: { code?: string } });
  const outage = lines.filter((l) => l.msg?.startsWith('database unavailable'));
  expect(outage).toHaveLength(1);
  expect(server.logs.text()).not.toContain('unhandled error');
  expect(server.logs.text()).not.toContain('"statusCode":500');
}

async function beforeOutage(server: TestServer) {
  const token = await managementToken(server);
  const browser = new Browser(server.url);
  const login = await browser.get('/login');
  const csrf = parseForms(login.html).find((f) => f.action === '/login')!.fields.csrf!;
  const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return { token, signIn: { cookie, csrf } };
}

describe.runIf(TEST_DB === 'postgres')('PostgreSQL outage', () => {
  it('answers 503 + Retry-After everywhere, logs once, and recovers', async () => {
    const db = await createTestDatabase('postgres');
    const name = new URL(db.url).pathname.slice(1);
    ts = await startTestServer({ db, logLevel: 'warn' });
    const server = ts;
    const { token, signIn } = await beforeOutage(server);
    try {
      // The database stops accepting connections and every open one is cut.
      await pgAdmin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await pgAdmin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await assertOutageAnswers(server, token, signIn);
      assertLoggedOnce(server);
    } finally {
      await pgAdmin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    const back = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(server.bootstrapClient.id, server.bootstrapClient.secret) },
    );
    expect(back.status).toBe(200);
    await server.close();
    ts = undefined;
    await db.drop();
  });

  it('classifies a refused connection as an outage', async () => {
    const u = new URL(PG_URL);
    u.port = String(await freePort());
    const handle = openDatabase({ kind: 'postgres', url: u.toString() });
    try {
      const err = await handle.db
        .selectFrom('tenants')
        .selectAll()
        .execute()
        .catch((e: unknown) => e);
      expect(isConnectionError(err)).toBe(true);
      const raw = await handle.pgPool!.query('select 1').catch((e: unknown) => e);
      expect(isConnectionError(raw)).toBe(true);
    } finally {
      await handle.close();
    }
  });
});

describe.runIf(TEST_DB === 'sqlite')('SQLite outage', () => {
  it('answers 503 + Retry-After when the database file is closed, and logs once', async () => {
    ts = await startTestServer({ logLevel: 'warn' });
    const { token, signIn } = await beforeOutage(ts);
    ts.server.services.database.sqlite!.close();
    await assertOutageAnswers(ts, token, signIn);
    assertLoggedOnce(ts);
  });
});

describe('isConnectionError', () => {
  it('knows outages from request faults', () => {
    const e = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    for (const outage of [
      e('ECONNREFUSED'),
      e('ECONNRESET'),
      e('ETIMEDOUT'),
      e('53300', 'sorry, too many clients already'),
      e('57P01', 'terminating connection due to administrator command'),
      e('08006'),
      e('SQLITE_BUSY'),
      e('SQLITE_IOERR_READ'),
      e('SQLITE_CANTOPEN'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new TypeError('The database connection is not open'),
      new AggregateError([e('ECONNREFUSED'), e('ECONNREFUSED')]),
    ])
      expect(isConnectionError(outage), String(outage)).toBe(true);
    for (const fault of [
      e('23505', 'duplicate key value'),
      e('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
      e('SQLITE_CONSTRAINT_UNIQUE'),
      new Error('boom'),
      null,
      'ECONNREFUSED',
    ])
      expect(isConnectionError(fault), String(fault)).toBe(false);
  });
});
