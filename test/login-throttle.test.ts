import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFor } from '../src/auth/session.js';
import { DEFAULT_THROTTLE, LoginThrottle } from '../src/auth/throttle.js';
import { Browser, parseForms } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createUser } from './helpers/users.js';

/**
 * Sign-in throttling slows the guesser and not the owner: counted per (account, address) with growing
 * delays, per address by distinct accounts, and an account under attack is slowed, never locked.
 */
let ts: TestServer;
let form: { cookie: string; csrf: string };

beforeAll(async () => {
  // Requests name their source address in X-Forwarded-For, as behind a trusted proxy.
  ts = await startTestServer({ env: { CLAVIS_TRUST_PROXY: 'true' } });
  const b = new Browser(ts.url);
  const page = await b.get('/login');
  form = {
    cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    csrf: parseForms(page.html).find((f) => f.action === '/login')!.fields.csrf!,
  };
});
afterAll(async () => {
  await ts?.close();
});

async function login(address: string, email: string, password: string) {
  const res = await fetch(`${ts.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: form.cookie,
      'x-forwarded-for': address,
      accept: 'text/html',
    },
    body: new URLSearchParams({ email, password, csrf: form.csrf }).toString(),
  });
  const location = res.headers.get('location') ?? '';
  if (res.status !== 303 || !location.startsWith('/login?'))
    return { status: res.status, headers: res.headers, html: await res.text() };
  // A failed sign-in answers 303 to the sign-in page, which shows the error with the status (401, or 429
  // with Retry-After): follow it as a browser does.
  await res.arrayBuffer();
  const page = await fetch(`${ts.url}${location}`, {
    redirect: 'manual',
    headers: { cookie: form.cookie, 'x-forwarded-for': address, accept: 'text/html' },
  });
  return { status: page.status, headers: page.headers, html: await page.text() };
}

async function metric(reason: string): Promise<number> {
  const text = await (await fetch(`${ts.url}/metrics`)).text();
  const m = new RegExp(`^clavis_login_throttled_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('sign-in throttling over HTTP', () => {
  it('a stranger failing on the admin account never locks the admin out', async () => {
    const before = await metric('account_address');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await login('203.0.113.1', ts.admin.email, `wrong-${i}`)).status);
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(4)).toEqual([429, 429, 429, 429]);
    // The guesser waits, even with the right password, and is told how long on a usable page.
    const guesser = await login('203.0.113.1', ts.admin.email, ts.admin.password);
    expect(guesser.status).toBe(429);
    expect(Number(guesser.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(guesser.html).toMatch(/Try again in \d+ seconds?\./);
    expect(parseForms(guesser.html).find((f) => f.action === '/login')?.fields.csrf).toBeTruthy();
    expect(await metric('account_address')).toBe(before + 5);
    // The owner, from an address that has not been failing, signs in at once.
    expect((await login('198.51.100.7', ts.admin.email, ts.admin.password)).status).toBe(303);
  });

  it('an office behind one address is not shut out by its own typing mistakes', async () => {
    // 11 people mistype their password 3 times each: 33 failures, but only 11 distinct accounts.
    const statuses = await Promise.all(
      Array.from({ length: 11 }, async (_, p) => {
        const seen: number[] = [];
        for (let i = 0; i < 3; i++)
          seen.push((await login('10.20.30.40', `person${p}@office.test`, `typo-${i}`)).status);
        return seen;
      }),
    );
    expect(statuses.flat()).toEqual(Array(33).fill(401));
    const colleague = await createUser(ts);
    expect((await login('10.20.30.40', colleague.email, colleague.password)).status).toBe(303);
  }, 120_000);

  it('an address trying many distinct accounts (spraying) is delayed', async () => {
    const before = await metric('address');
    const limit = DEFAULT_THROTTLE.accountsPerAddress;
    const statuses = await Promise.all(
      Array.from({ length: limit + 1 }, (_, i) => login('192.0.2.9', `victim${i}@spray.test`, 'Summer2026!')),
    );
    expect(statuses.map((r) => r.status)).toEqual(Array(limit + 1).fill(401));
    const next = await login('192.0.2.9', 'victim-next@spray.test', 'Summer2026!');
    expect(next.status).toBe(429);
    expect(next.headers.get('retry-after')).toBeTruthy();
    expect(await metric('address')).toBe(before + 1);
    // Other addresses are unaffected.
    const u = await createUser(ts);
    expect((await login('192.0.2.10', u.email, u.password)).status).toBe(303);
  }, 120_000);

  it('an account failing from many addresses is slowed, not refused, for a fresh address', async () => {
    const throttle = authFor(ts.server.services).throttle;
    const policy = throttle.policy as { accountCeiling: number; accountPauseMs: number };
    const saved = { ...policy };
    policy.accountCeiling = 3;
    policy.accountPauseMs = 400;
    try {
      const u = await createUser(ts);
      for (let i = 0; i < 3; i++)
        expect((await login(`198.18.0.${i + 1}`, u.email, 'wrong')).status).toBe(401);
      const before = await metric('account_slowed');
      const started = Date.now();
      expect((await login('198.18.1.1', u.email, u.password)).status).toBe(303);
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
      expect(await metric('account_slowed')).toBe(before + 1);
    } finally {
      Object.assign(policy, saved);
    }
  });
});

describe('LoginThrottle', () => {
  function throttleAt(start: number) {
    const clock = { t: start };
    const throttle = new LoginThrottle({ ...ts.server.services.ctx, now: () => clock.t });
    return { clock, throttle };
  }

  it('delays a failing (account, address) pair 0, 0, 0, 1 s, 2 s, 4 s..., capped', async () => {
    const { clock, throttle } = throttleAt(1_000_000);
    const email = 'delays@throttle.test';
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      const d = await throttle.check(email, '10.1.1.1');
      expect(d.kind).toBe('go');
      await throttle.recordFailure(email, '10.1.1.1');
      const after = await throttle.check(email, '10.1.1.1');
      const wait = after.kind === 'wait' ? after.until - clock.t : 0;
      waits.push(wait);
      clock.t += wait;
    }
    expect(waits.slice(0, 10)).toEqual([0, 0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 64000]);
    expect(Math.max(...waits)).toBe(DEFAULT_THROTTLE.maxDelayMs);
    // Another address on the same account, and the same address on another account, are not delayed.
    expect((await throttle.check(email, '10.1.1.2')).kind).toBe('go');
    expect((await throttle.check('other@throttle.test', '10.1.1.1')).kind).toBe('go');
  });

  it('forgets failures after a success, and after the window', async () => {
    const { clock, throttle } = throttleAt(5_000_000);
    const email = 'forget@throttle.test';
    for (let i = 0; i < 4; i++) await throttle.recordFailure(email, '10.2.2.2');
    expect((await throttle.check(email, '10.2.2.2')).kind).toBe('wait');
    await throttle.recordSuccess(email, '10.2.2.2');
    expect((await throttle.check(email, '10.2.2.2')).kind).toBe('go');
    for (let i = 0; i < 4; i++) await throttle.recordFailure(email, '10.2.2.3');
    clock.t += DEFAULT_THROTTLE.windowMs + 1;
    await throttle.recordFailure(email, '10.2.2.3');
    expect((await throttle.check(email, '10.2.2.3')).kind).toBe('go');
  });

  it('counts distinct accounts per address, not failures', async () => {
    const { throttle } = throttleAt(9_000_000);
    for (let i = 0; i < 30; i++) await throttle.recordFailure('same@throttle.test', '10.3.3.3');
    // 30 failures on one account: the pair waits, the address does not.
    const other = await throttle.check('someone-else@throttle.test', '10.3.3.3');
    expect(other.kind).toBe('go');
  });
});
