import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseTrustProxy } from '../src/config/config.js';
import { DEFAULT_CLIENT_AUTH_THROTTLE } from '../src/oauth/client-auth-throttle.js';
import { Browser, parseForms } from './helpers/browser.js';
import { basicAuth, createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';

/*
 * An https deployment behind a reverse proxy: the issuer is https, the proxy (here the test itself, on
 * loopback) is named in CLAVIS_TRUST_PROXY, and clients are told apart by X-Forwarded-For. Requests go to the
 * bound loopback address (`ts.server.url`), as the proxy's would; the issuer names the public host.
 */

describe('CLAVIS_TRUST_PROXY parsing', () => {
  it('keeps true and false', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('false')).toBe(false);
  });

  it('takes addresses, CIDR ranges and names', () => {
    expect(parseTrustProxy('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(parseTrustProxy('loopback, 10.0.0.0/8,fd00::/8')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8']);
  });

  it.each(['proxy.example', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129', 'loopback,', '300.1.1.1'])(
    'refuses %j naming the variable',
    (raw) => {
      expect(() => parseTrustProxy(raw)).toThrow(ConfigError);
      expect(() => parseTrustProxy(raw)).toThrow(/^CLAVIS_TRUST_PROXY: /);
    },
  );
});

type Server = { ts: TestServer; app: Awaited<ReturnType<typeof createTestApp>> };

function server(trustProxy: string) {
  const s = {} as Server;
  beforeAll(async () => {
    s.ts = await startTestServer({
      env: { CLAVIS_ISSUER: 'https://auth.example.test', CLAVIS_TRUST_PROXY: trustProxy },
    });
    s.app = await createTestApp(s.ts);
  });
  afterAll(async () => s.ts?.close());
  return s;
}

/** A client_credentials request with a wrong secret, as forwarded by a proxy for `forwardedFor`. */
const wrongSecret = (s: Server, forwardedFor: string) =>
  postForm(
    `${s.ts.server.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuth(s.app.app.client_id, 'wrong'), 'x-forwarded-for': forwardedFor },
  );

/** Failures answered with 401 before the pair waits: the free ones and the one that starts the wait. */
const ANSWERED = DEFAULT_CLIENT_AUTH_THROTTLE.freeFailures + 1;

async function statuses(n: number, f: () => Promise<{ status: number }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await f()).status);
  return out;
}

describe('https issuer behind a trusted proxy (CLAVIS_TRUST_PROXY=127.0.0.1)', () => {
  const s = server('127.0.0.1');

  it('sends HSTS', async () => {
    for (const path of ['/healthz', '/.well-known/oauth-authorization-server', '/login']) {
      const res = await fetch(`${s.ts.server.url}${path}`);
      expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    }
  });

  it('sets hub cookies Secure, host-only, with the __Host- prefix', async () => {
    const b = new Browser(s.ts.server.url);
    const page = await b.get('/login');
    const csrf = parseForms(page.html).find((f) => f.action === '/login')!.fields.csrf!;
    const res = await fetch(`${s.ts.server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        'x-forwarded-for': '198.51.100.20',
      },
      body: new URLSearchParams({ email: s.ts.admin.email, password: s.ts.admin.password, csrf }).toString(),
    });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('__Host-clavis_session='));
    expect(session).toBeDefined();
    for (const c of cookies) {
      expect(c).toMatch(/^__Host-/);
      expect(c).toMatch(/;\s*Secure/i);
      expect(c).toMatch(/;\s*Path=\/(;|$)/i);
      expect(c).not.toMatch(/;\s*Domain=/i);
    }
  });

  it('keys the client-auth throttle on the forwarded client address', async () => {
    const guesser = await statuses(ANSWERED + 2, () => wrongSecret(s, '203.0.113.1'));
    expect(guesser.slice(0, ANSWERED)).toEqual(Array(ANSWERED).fill(401));
    expect(guesser.slice(ANSWERED)).toEqual([429, 429]);
    // The same client from another address is not throttled (the right secret works at once).
    const ok = await postForm(
      `${s.ts.server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(s.app.app.client_id, s.app.secret!), 'x-forwarded-for': '198.51.100.1' },
    );
    expect(ok.status).toBe(200);
  });

  it('takes the address the trusted proxy saw, not one the client wrote itself', async () => {
    // The guesser at 203.0.113.9 sends X-Forwarded-For: 192.0.2.N; the proxy appends the real address.
    const spoofing = await statuses(ANSWERED + 2, () =>
      wrongSecret(s, `192.0.2.${Math.floor(Math.random() * 250)}, 203.0.113.9`),
    );
    expect(spoofing.slice(ANSWERED)).toEqual([429, 429]);
  });

  it('keys the sign-in throttle on the forwarded client address', async () => {
    const b = new Browser(s.ts.server.url);
    const page = await b.get('/login');
    const csrf = parseForms(page.html).find((f) => f.action === '/login')!.fields.csrf!;
    const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const login = async (address: string, password: string) => {
      const headers = { cookie, 'x-forwarded-for': address, accept: 'text/html' };
      const res = await fetch(`${s.ts.server.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: s.ts.admin.email, password, csrf }).toString(),
      });
      // A failed sign-in answers 303 to the sign-in page, which shows it with its status (401, 429).
      const location = res.headers.get('location') ?? '';
      if (res.status !== 303 || !location.startsWith('/login?')) return res;
      return fetch(`${s.ts.server.url}${location}`, { redirect: 'manual', headers });
    };
    const guesser = await statuses(6, () => login('203.0.113.50', 'wrong'));
    expect(guesser.slice(4)).toEqual([429, 429]);
    expect((await login('198.51.100.50', s.ts.admin.password)).status).toBe(303);
  });
});

describe('X-Forwarded-For from an untrusted peer (CLAVIS_TRUST_PROXY=10.0.0.1)', () => {
  const s = server('10.0.0.1');

  it('is ignored: the throttle keys on the peer address whatever the header says', async () => {
    let i = 0;
    const seen = await statuses(ANSWERED + 2, () => wrongSecret(s, `203.0.113.${++i}`));
    expect(seen.slice(0, ANSWERED)).toEqual(Array(ANSWERED).fill(401));
    expect(seen.slice(ANSWERED)).toEqual([429, 429]);
  });
});

describe('CLAVIS_TRUST_PROXY=loopback', () => {
  const s = server('loopback');

  it('trusts the loopback proxy', async () => {
    let i = 0;
    const seen = await statuses(ANSWERED + 2, () => wrongSecret(s, `203.0.113.${++i}`));
    expect(seen).toEqual(Array(ANSWERED + 2).fill(401));
  });
});
