import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientAuthThrottle,
  ClientAuthThrottled,
  type ClientAuthThrottlePolicy,
  DEFAULT_CLIENT_AUTH_THROTTLE,
} from '../src/oauth/client-auth-throttle.js';
import { basicAuth, createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';

/** Failed client authentication is throttled per (client_id, address), per client_id and per address. */

function throttle(policy: Partial<ClientAuthThrottlePolicy> = {}) {
  const clock = { now: 1_000_000 };
  const t = new ClientAuthThrottle({ ...DEFAULT_CLIENT_AUTH_THROTTLE, ...policy }, () => clock.now);
  const refused = (id: string, ip: string): ClientAuthThrottled | null => {
    try {
      t.check(id, ip);
      return null;
    } catch (err) {
      if (err instanceof ClientAuthThrottled) return err;
      throw err;
    }
  };
  return { t, clock, refused };
}

describe('ClientAuthThrottle', () => {
  it('lets the free failures through, then makes the pair wait 1 s, 2 s, 4 s...', () => {
    const { t, clock, refused } = throttle();
    for (let i = 0; i < 10; i++) {
      expect(refused('c1', '10.0.0.1')).toBeNull();
      t.recordFailure('c1', '10.0.0.1');
    }
    expect(refused('c1', '10.0.0.1')).toBeNull();
    t.recordFailure('c1', '10.0.0.1');
    expect(refused('c1', '10.0.0.1')?.retryAfterSeconds).toBe(1);
    clock.now += 1000;
    expect(refused('c1', '10.0.0.1')).toBeNull();
    t.recordFailure('c1', '10.0.0.1');
    expect(refused('c1', '10.0.0.1')?.retryAfterSeconds).toBe(2);
    clock.now += 2000;
    t.recordFailure('c1', '10.0.0.1');
    const err = refused('c1', '10.0.0.1')!;
    expect(err.retryAfterSeconds).toBe(4);
    expect(err.statusCode).toBe(429);
    expect(err.headers['retry-after']).toBe('4');
    expect(err.toJSON()).toEqual({
      error: 'invalid_client',
      error_description: 'Too many failed client authentication attempts; retry after 4 s.',
    });
  });

  it('never refuses the same client from an address that has not been failing', () => {
    const { t, refused } = throttle();
    for (let i = 0; i < 200; i++) t.recordFailure('c1', '10.0.0.1');
    expect(refused('c1', '10.0.0.1')).not.toBeNull();
    expect(refused('c1', '10.0.0.2')).toBeNull();
    expect(refused('c2', '10.0.0.1')).toBeNull();
  });

  it('a success clears the pair', () => {
    const { t, refused } = throttle();
    for (let i = 0; i < 10; i++) t.recordFailure('c1', '10.0.0.1');
    t.recordSuccess('c1', '10.0.0.1');
    t.recordFailure('c1', '10.0.0.1');
    expect(refused('c1', '10.0.0.1')).toBeNull();
  });

  it('past the client ceiling, a newly failing address gets no free failures on that client', () => {
    const { t, refused } = throttle({ clientCeiling: 10 });
    for (let i = 0; i < 11; i++) t.recordFailure('c1', `10.0.1.${i}`);
    t.recordFailure('c1', '10.0.2.1');
    expect(refused('c1', '10.0.2.1')?.reason).toBe('client_address');
    expect(refused('c1', '10.0.2.2')).toBeNull();
  });

  it('per address, counts distinct client_ids failed on', () => {
    const { t, refused } = throttle({ clientsPerAddress: 3 });
    for (let i = 0; i < 3; i++) t.recordFailure(`guess-${i}`, '10.0.0.9');
    expect(refused('anything', '10.0.0.9')).toBeNull();
    t.recordFailure('guess-3', '10.0.0.9');
    expect(refused('anything', '10.0.0.9')?.reason).toBe('address');
    expect(refused('anything', '10.0.0.8')).toBeNull();
  });

  it('forgets failures after the window', () => {
    const { t, clock, refused } = throttle({ windowMs: 60_000 });
    for (let i = 0; i < 10; i++) t.recordFailure('c1', '10.0.0.1');
    clock.now += 61_000;
    t.recordFailure('c1', '10.0.0.1');
    expect(refused('c1', '10.0.0.1')).toBeNull();
  });

  it('keeps at most maxEntries counters', () => {
    const { t } = throttle({ maxEntries: 100 });
    for (let i = 0; i < 5000; i++) t.recordFailure(`c${i}`, `10.${i % 250}.0.${i % 7}`);
    expect(t.size).toBeLessThanOrEqual(100);
  });

  it('costs a successful request nothing while nothing is failing', () => {
    const { t, refused } = throttle();
    expect(refused('c1', '10.0.0.1')).toBeNull();
    t.recordSuccess('c1', '10.0.0.1');
    expect(t.size).toBe(0);
  });
});

describe('client authentication throttling over HTTP', () => {
  let ts: TestServer;
  let app: Awaited<ReturnType<typeof createTestApp>>;
  let other: Awaited<ReturnType<typeof createTestApp>>;
  beforeAll(async () => {
    ts = await startTestServer();
    app = await createTestApp(ts, { name: 'Target' });
    other = await createTestApp(ts, { name: 'Neighbour' });
  });
  afterAll(async () => ts?.close());

  const cc = (id: string, secret: string) =>
    postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(id, secret) },
    );

  it('refuses a burst of wrong secrets with 429, Retry-After and an RFC 6749 body', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof cc>> | undefined;
    for (let i = 0; i < 30; i++) {
      last = await cc(app.app.client_id, `wrong-${i}`);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 11)).toEqual(Array(11).fill(401));
    expect(statuses.slice(11)).toEqual(Array(19).fill(429));
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last!.headers.get('cache-control')).toBe('no-store');
    expect(last!.json.error).toBe('invalid_client');
    expect(last!.json.error_description).toMatch(
      /^Too many failed client authentication attempts; retry after \d+ s\.$/,
    );
    // While throttled, not even the right secret is checked from this address.
    expect((await cc(app.app.client_id, app.secret!)).status).toBe(429);
  });

  it('throttles the introspection and revocation endpoints for that client too', async () => {
    const auth = { authorization: basicAuth(app.app.client_id, 'still-wrong') };
    expect((await postForm(`${ts.url}/oauth/introspect`, { token: 'x' }, auth)).status).toBe(429);
    expect((await postForm(`${ts.url}/oauth/revoke`, { token: 'x' }, auth)).status).toBe(429);
  });

  it('leaves other clients from the same address alone', async () => {
    const r = await cc(other.app.client_id, other.secret!);
    expect(r.status).toBe(200);
  });

  it('counts throttled attempts in /metrics', async () => {
    const text = await (await fetch(`${ts.url}/metrics`)).text();
    const m = /clavis_client_auth_throttled_total\{reason="client_address"\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(19);
  });
});
