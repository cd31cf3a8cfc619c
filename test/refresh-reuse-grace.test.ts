import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/domain/apps.js';
import { apiMe, exchange, getCode, token } from './helpers/flow.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/*
 * CLAVIS_REFRESH_REUSE_GRACE: within the grace after a rotation, the immediately previous refresh token (whose
 * successor is still unused) rotates once more instead of revoking the grant; anything else is reuse.
 */

type Client = { app: App; secret: string | null };

function setup(env: Record<string, string>) {
  const s = {
    ts: undefined as unknown as TestServer,
    offset: 0,
    conf: undefined as unknown as Client,
    user: undefined as unknown as TestUser,
  };
  beforeAll(async () => {
    s.ts = await startTestServer({ env, now: () => Date.now() + s.offset });
    s.conf = await createTestApp(s.ts, { callback_url: 'https://app.example/cb' });
    s.user = await createUser(s.ts);
  });
  afterAll(async () => s.ts?.close());
  const refresh = (rt: string) =>
    token(s.ts, s.conf.app, s.conf.secret, { grant_type: 'refresh_token', refresh_token: rt });
  const start = async () => {
    const c = await getCode(s.ts, s.conf.app, s.user);
    const r = await exchange(s.ts, s.conf.app, s.conf.secret, c.code, c.verifier);
    expect(r.status).toBe(200);
    return r.json as { access_token: string; refresh_token: string };
  };
  return { s, refresh, start };
}

describe('strict reuse detection (grace 0, the default)', () => {
  const { s, refresh, start } = setup({});

  it('defaults to 0', () => expect(s.ts.config.refreshReuseGrace).toBe(0));

  it('a retry with the previous token at once revokes the grant', async () => {
    const t = await start();
    const r1 = await refresh(t.refresh_token);
    expect(r1.status).toBe(200);
    const retry = await refresh(t.refresh_token);
    expect(retry.status).toBe(400);
    expect(retry.json.error).toBe('invalid_grant');
    expect((await refresh(r1.json.refresh_token)).json.error).toBe('invalid_grant');
  });
});

describe('with a reuse grace of 30 s', () => {
  const { s, refresh, start } = setup({ CLAVIS_REFRESH_REUSE_GRACE: '30' });

  it('the previous token rotates once more, and its lost successor is invalidated', async () => {
    const t = await start();
    const lost = await refresh(t.refresh_token); // the answer that never reached the client
    expect(lost.status).toBe(200);
    const retry = await refresh(t.refresh_token);
    expect(retry.status).toBe(200);
    expect(retry.json.refresh_token).not.toBe(lost.json.refresh_token);
    expect(await apiMe(s.ts, retry.json.access_token)).toBe(200);
    // Only one live chain: the lost successor no longer works, and the new one does.
    expect((await refresh(lost.json.refresh_token)).json.error).toBe('invalid_grant');
    const next = await refresh(retry.json.refresh_token);
    expect(next.status).toBe(200);
    expect(await apiMe(s.ts, next.json.access_token)).toBe(200);
  });

  it('a second retry with the same token revokes the grant', async () => {
    const t = await start();
    expect((await refresh(t.refresh_token)).status).toBe(200);
    const retry = await refresh(t.refresh_token);
    expect(retry.status).toBe(200);
    const again = await refresh(t.refresh_token);
    expect(again.status).toBe(400);
    expect(again.json.error).toBe('invalid_grant');
    expect((await refresh(retry.json.refresh_token)).json.error).toBe('invalid_grant');
    expect(await apiMe(s.ts, retry.json.access_token)).toBe(401);
  });

  it('a token two rotations back is reuse (its successor was used), and revokes the grant', async () => {
    const t = await start();
    const r1 = await refresh(t.refresh_token);
    const r2 = await refresh(r1.json.refresh_token);
    expect(r2.status).toBe(200);
    const old = await refresh(t.refresh_token);
    expect(old.status).toBe(400);
    expect(old.json.error).toBe('invalid_grant');
    expect((await refresh(r2.json.refresh_token)).json.error).toBe('invalid_grant');
  });

  it('a retry after the grace revokes the grant', async () => {
    const t = await start();
    const r1 = await refresh(t.refresh_token);
    expect(r1.status).toBe(200);
    s.offset = 31_000;
    try {
      const late = await refresh(t.refresh_token);
      expect(late.status).toBe(400);
      expect(late.json.error).toBe('invalid_grant');
      expect((await refresh(r1.json.refresh_token)).json.error).toBe('invalid_grant');
    } finally {
      s.offset = 0;
    }
  });

  it('of parallel retries exactly one succeeds', async () => {
    for (let round = 0; round < 3; round++) {
      const t = await start();
      expect((await refresh(t.refresh_token)).status).toBe(200);
      const results = await Promise.all(Array.from({ length: 4 }, () => refresh(t.refresh_token)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 200)) expect(r.json.error).toBe('invalid_grant');
    }
  });

  it('a retry racing a use of the successor: exactly one succeeds', async () => {
    for (let round = 0; round < 3; round++) {
      const t = await start();
      const r1 = await refresh(t.refresh_token);
      const results = await Promise.all([refresh(t.refresh_token), refresh(r1.json.refresh_token)]);
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    }
  });
});
