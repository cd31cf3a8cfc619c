import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/domain/apps.js';
import { authorize, Browser, parseForms } from './helpers/browser.js';
import { authUrl, exchange, getCode, pkce } from './helpers/flow.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/** The authorization endpoint's rules (issue 3), each with a test that fails when the rule is broken. */
let ts: TestServer;
let conf: { app: App; secret: string | null };
let pub: { app: App; secret: string | null };
let loop: { app: App; secret: string | null };
let user: TestUser;
let signedIn: Browser;

beforeAll(async () => {
  ts = await startTestServer();
  conf = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
  pub = await createTestApp(ts, { client_type: 'public', callback_url: 'https://app.example/cb' });
  loop = await createTestApp(ts, { callback_url: 'http://127.0.0.1/cb' });
  user = await createUser(ts);
  signedIn = new Browser(ts.url);
  const login = await signedIn.get('/login');
  const r = await signedIn.submit(login, '/login', { email: user.email, password: user.password });
  expect(r.status).toBe(303);
  expect(r.location).not.toMatch(/^\/login/);
});
afterAll(async () => ts?.close());

const base = (app: App, extra: Record<string, string> = {}) => ({
  response_type: 'code',
  client_id: app.client_id,
  redirect_uri: app.callback_url,
  state: 'xyz',
  ...extra,
});

/** Asserts an error page: 4xx HTML, no Location header. */
async function expectErrorPage(url: string, browser = signedIn) {
  const page = await browser.get(url);
  expect(page.status).toBeGreaterThanOrEqual(400);
  expect(page.status).toBeLessThan(500);
  expect(page.location).toBeNull();
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  return page;
}

/** Asserts an error redirect to the registered callback with error, state and iss. */
async function expectErrorRedirect(url: string, error: string, browser = signedIn) {
  const page = await browser.get(url);
  expect(page.status).toBe(302);
  const loc = new URL(page.location!);
  expect(`${loc.origin}${loc.pathname}`).toBe('https://app.example/cb');
  expect(loc.searchParams.get('error')).toBe(error);
  expect(loc.searchParams.get('iss')).toBe(ts.url);
  expect(loc.searchParams.get('state')).toBe('xyz');
  return loc;
}

describe('client and redirect_uri are checked first: error page, never a redirect', () => {
  it('unknown client', async () => {
    const page = await expectErrorPage(authUrl(ts, base({ ...conf.app, client_id: 'nope' } as App)));
    expect(page.html).toContain('unknown client_id');
  });

  it('missing client_id and repeated client_id', async () => {
    await expectErrorPage(authUrl(ts, { response_type: 'code', redirect_uri: 'https://app.example/cb' }));
    await expectErrorPage(
      authUrl(
        ts,
        `response_type=code&client_id=${conf.app.client_id}&client_id=${conf.app.client_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb`,
      ),
    );
  });

  it('missing redirect_uri', async () => {
    const { redirect_uri: _r, ...rest } = base(conf.app);
    await expectErrorPage(authUrl(ts, rest));
  });

  const variants = [
    'https://app.example/cb/',
    'https://app.example/CB',
    'HTTPS://app.example/cb',
    'https://app.example/cb?x=1',
    'https://app.example/cb/../x',
    'https://app.example/cb/%2e%2e/x',
    'https://app.example/cb/..;/x',
    'https://app.example:443/cb',
    'https://app.example.evil/cb',
    'https://app.example@evil/cb',
    'https://www%2eapp%2eexample%2fcb%2f:y@evil.test/',
  ];
  for (const v of variants) {
    it(`rejects redirect_uri ${v} for registered https://app.example/cb`, async () => {
      const page = await expectErrorPage(
        authUrl(ts, base(conf.app, { redirect_uri: v, response_type: 'token' })),
      );
      expect(page.html).toContain('does not match');
    });
  }

  it('accepts the exact registered string', async () => {
    const p = pkce();
    const page = await signedIn.get(
      authUrl(ts, base(conf.app, { code_challenge: p.challenge, code_challenge_method: 'S256' })),
    );
    expect(page.status).toBe(200);
    expect(parseForms(page.html).some((f) => f.action === '/oauth/authorize/decision')).toBe(true);
  });

  it('loopback callbacks may vary only in port', async () => {
    for (const ok of ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb', 'http://127.0.0.1:8080/cb']) {
      const page = await signedIn.get(authUrl(ts, base(loop.app, { redirect_uri: ok })));
      expect(page.status, ok).toBe(200);
    }
    for (const bad of [
      'http://127.0.0.1:5000/cb/',
      'http://127.0.0.1:5000/CB',
      'http://[::1]:5000/cb',
      'http://localhost:5000/cb',
      'http://127.0.0.2/cb',
    ]) {
      await expectErrorPage(authUrl(ts, base(loop.app, { redirect_uri: bad })));
    }
  });

  it('[::1] loopback varies in port too, and localhost.evil.test is never loopback', async () => {
    const v6 = await createTestApp(ts, { callback_url: 'http://[::1]/cb' });
    expect(
      (await signedIn.get(authUrl(ts, base(v6.app, { redirect_uri: 'http://[::1]:4000/cb' })))).status,
    ).toBe(200);
    const evil = await createTestApp(ts, { callback_url: 'http://localhost/cb' });
    await expectErrorPage(authUrl(ts, base(evil.app, { redirect_uri: 'http://localhost.evil.test/cb' })));
    await expectErrorPage(authUrl(ts, base(loop.app, { redirect_uri: 'http://localhost.evil.test/cb' })));
    await expectErrorPage(authUrl(ts, base(loop.app, { redirect_uri: 'http://127.0.0.1.evil.test/cb' })));
  });

  it('a disabled app gets an error page', async () => {
    const d = await createTestApp(ts, {}, { status: 'disabled' });
    await expectErrorPage(authUrl(ts, base(d.app)));
  });
});

describe('after validation, errors redirect with error, state and iss', () => {
  it('only response_type=code (no implicit)', async () => {
    await expectErrorRedirect(
      authUrl(ts, base(conf.app, { response_type: 'token' })),
      'unsupported_response_type',
    );
    await expectErrorRedirect(
      authUrl(ts, base(conf.app, { response_type: 'code token' })),
      'unsupported_response_type',
    );
    const { response_type: _r, ...rest } = base(conf.app);
    await expectErrorRedirect(authUrl(ts, rest), 'invalid_request');
  });

  it('repeated parameters give invalid_request', async () => {
    const q = new URLSearchParams(base(conf.app)).toString();
    await expectErrorRedirect(authUrl(ts, `${q}&scope=contacts:read&scope=profile:read`), 'invalid_request');
    await expectErrorRedirect(authUrl(ts, `${q}&response_type=code`), 'invalid_request');
  });

  it('unknown or disallowed scope gives invalid_scope', async () => {
    await expectErrorRedirect(authUrl(ts, base(conf.app, { scope: 'clavis:admin' })), 'invalid_scope');
  });

  it('the redirect keeps the query of the registered callback', async () => {
    const q = await createTestApp(ts, { callback_url: 'https://app.example/cb?tenant=a' });
    const page = await signedIn.get(authUrl(ts, base(q.app, { response_type: 'token' })));
    expect(page.location).toMatch(/^https:\/\/app\.example\/cb\?tenant=a&error=unsupported_response_type/);
  });
});

describe('PKCE (RFC 7636), S256 only', () => {
  it('public clients must send a code_challenge', async () => {
    await expectErrorRedirect(authUrl(ts, base(pub.app)), 'invalid_request');
  });

  it('plain is rejected, and so is a challenge without a method (which means plain)', async () => {
    const p = pkce();
    await expectErrorRedirect(
      authUrl(ts, base(conf.app, { code_challenge: p.challenge, code_challenge_method: 'plain' })),
      'invalid_request',
    );
    await expectErrorRedirect(
      authUrl(ts, base(pub.app, { code_challenge: p.verifier.slice(0, 43) })),
      'invalid_request',
    );
  });

  it('a malformed challenge is rejected', async () => {
    await expectErrorRedirect(
      authUrl(ts, base(conf.app, { code_challenge: 'short', code_challenge_method: 'S256' })),
      'invalid_request',
    );
    await expectErrorRedirect(
      authUrl(ts, base(conf.app, { code_challenge: `${'a'.repeat(42)}+`, code_challenge_method: 'S256' })),
      'invalid_request',
    );
  });

  it('confidential clients may use PKCE and may omit it', async () => {
    const withPkce = await getCode(ts, conf.app, user, { browser: signedIn });
    expect((await exchange(ts, conf.app, conf.secret, withPkce.code, withPkce.verifier)).status).toBe(200);
    const without = await getCode(ts, conf.app, user, { browser: signedIn, challenge: null });
    expect((await exchange(ts, conf.app, conf.secret, without.code, undefined)).status).toBe(200);
  });

  it('a code issued without a challenge and redeemed with a verifier is rejected', async () => {
    const c = await getCode(ts, conf.app, user, { browser: signedIn, challenge: null });
    const r = await exchange(ts, conf.app, conf.secret, c.code, pkce().verifier);
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_grant');
  });

  it('a code issued with a challenge and redeemed without a verifier (or a wrong one) is rejected', async () => {
    const c = await getCode(ts, conf.app, user, { browser: signedIn });
    const none = await exchange(ts, conf.app, conf.secret, c.code, undefined);
    expect(none.json.error).toBe('invalid_grant');
    const wrong = await exchange(ts, conf.app, conf.secret, c.code, pkce().verifier);
    expect(wrong.json.error).toBe('invalid_grant');
    // Failed attempts don't consume the code: the right verifier still works.
    expect((await exchange(ts, conf.app, conf.secret, c.code, c.verifier)).status).toBe(200);
  });

  it('a verifier with the wrong length or characters is rejected', async () => {
    const c = await getCode(ts, conf.app, user, { browser: signedIn });
    for (const bad of [
      'a'.repeat(42),
      'a'.repeat(129),
      `${'a'.repeat(42)}!`,
      `${'a'.repeat(42)} `,
      `${'a'.repeat(42)}+`,
    ]) {
      const r = await exchange(ts, conf.app, conf.secret, c.code, bad);
      expect(r.status, bad).toBe(400);
      expect(r.json.error, bad).toBe('invalid_request');
    }
  });
});

describe('success', () => {
  it('carries code, state and iss (RFC 9207), and pages forbid framing', async () => {
    const browser = new Browser(ts.url);
    const p = pkce();
    const r = await authorize(
      browser,
      authUrl(ts, base(pub.app, { code_challenge: p.challenge, code_challenge_method: 'S256' })),
      {
        email: user.email,
        password: user.password,
      },
    );
    expect(r.page.status).toBe(303);
    const loc = new URL(r.location!);
    expect(loc.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(loc.searchParams.get('state')).toBe('xyz');
    expect(loc.searchParams.get('iss')).toBe(ts.url);
    const page = await browser.get(
      authUrl(ts, base(pub.app, { code_challenge: p.challenge, code_challenge_method: 'S256' })),
    );
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });
});
