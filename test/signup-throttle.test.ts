import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignupThrottle } from '../src/auth/signup-throttle.js';
import { loadConfig } from '../src/config/config.js';
import { parseForms } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Sign-ups are limited per source address and overall per hour, before any password is hashed. */

let ts: TestServer;
let clock = Date.now();
beforeAll(async () => {
  ts = await startTestServer({ env: { CLAVIS_SIGNUP_RATE: '2/3' }, now: () => clock });
});
afterAll(async () => ts?.close());

/** Fetches the form (pre-session cookie and CSRF token) and submits it, all from `address`. */
async function signUp(
  address: string,
  email = `dev-${randomBytes(4).toString('hex')}@example.org`,
  password = 'a long password 123',
) {
  const app = ts.server.app;
  const form = await app.inject({ method: 'GET', url: '/signup', remoteAddress: address });
  const cookie = (form.headers['set-cookie'] as string | string[] | undefined) ?? [];
  const pre = (Array.isArray(cookie) ? cookie : [cookie]).map((c) => c.split(';')[0]).join('; ');
  const csrf = parseForms(form.body)[0]!.fields.csrf!;
  const res = await app.inject({
    method: 'POST',
    url: '/signup',
    remoteAddress: address,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: pre },
    payload: new URLSearchParams({ csrf, name: 'Dev', email, password }).toString(),
  });
  if (res.statusCode !== 303)
    return { status: res.statusCode, body: res.body, retryAfter: res.headers['retry-after'], email };
  // A refused sign-up answers 303 to /signup, which shows the form with the status (and Retry-After).
  expect(res.headers.location).toMatch(/^\/signup\?flash=/);
  const shown = await app.inject({
    method: 'GET',
    url: res.headers.location as string,
    remoteAddress: address,
    headers: { cookie: pre },
  });
  return { status: shown.statusCode, body: shown.body, retryAfter: shown.headers['retry-after'], email };
}

async function accountExists(email: string): Promise<boolean> {
  const row = await ts.server.services.ctx.db
    .selectFrom('users')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirst();
  return row !== undefined;
}

describe('sign-up rate limit', () => {
  it('refuses the third sign-up from one address within the hour, with 429, Retry-After and the form', async () => {
    expect((await signUp('198.51.100.1')).status).toBe(201);
    expect((await signUp('198.51.100.1')).status).toBe(201);
    const refused = await signUp('198.51.100.1');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(3500);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(3600);
    expect(refused.body).toContain('Too many accounts were created from your network recently');
    expect(refused.body).toContain('action="/signup"');
    expect(refused.body).toContain(refused.email);
    // Refused before the sandbox (and its password hash) was made.
    expect(await accountExists(refused.email)).toBe(false);
  });

  it('counts all addresses together too', async () => {
    expect((await signUp('198.51.100.2')).status).toBe(201);
    const refused = await signUp('198.51.100.3');
    expect(refused.status).toBe(429);
    expect(refused.body).toContain('Too many accounts were created on this server recently');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(await accountExists(refused.email)).toBe(false);
  });

  it('does not count a form with errors, counts a taken email, and frees up after the hour', async () => {
    clock += 3600_000 + 1000;
    for (let i = 0; i < 3; i++) expect((await signUp('198.51.100.5', undefined, 'short')).status).toBe(400);
    expect((await signUp('198.51.100.5')).status).toBe(201);
    const first = await signUp('198.51.100.1');
    expect(first.status).toBe(201);
    // Still the "already registered" message (enumeration closes with email verification).
    const dup = await signUp('198.51.100.4', first.email);
    expect(dup.status).toBe(409);
    expect(dup.body).toContain('An account with this email address already exists');
    expect((await signUp('198.51.100.4')).status).toBe(429);
  });
});

describe('SignupThrottle', () => {
  it('frees one place when the oldest attempt leaves the window', () => {
    let now = 0;
    const t = new SignupThrottle({ perAddress: 2, total: 10 }, () => now);
    expect(t.take('a').kind).toBe('go');
    now = 1000;
    expect(t.take('a').kind).toBe('go');
    expect(t.take('a')).toEqual({ kind: 'wait', until: 3600_000, reason: 'address' });
    now = 3600_000;
    expect(t.take('a').kind).toBe('go');
    expect(t.take('a')).toEqual({ kind: 'wait', until: 3601_000, reason: 'address' });
  });
});

describe('CLAVIS_SIGNUP_RATE', () => {
  const env = { CLAVIS_SECRET_KEY: randomBytes(32).toString('base64url') };
  it('defaults to 5 per address and 100 overall, and is checked', () => {
    expect(loadConfig(env).signupRate).toEqual({ perAddress: 5, total: 100 });
    expect(loadConfig({ ...env, CLAVIS_SIGNUP_RATE: '3/40' }).signupRate).toEqual({
      perAddress: 3,
      total: 40,
    });
    for (const bad of ['5', '0/10', '10/5', 'x/y', '5/100/1'])
      expect(() => loadConfig({ ...env, CLAVIS_SIGNUP_RATE: bad })).toThrow(/CLAVIS_SIGNUP_RATE/);
  });
});
