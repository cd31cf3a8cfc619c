import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/domain/apps.js';
import { apiMe, exchange, getCode, introspect, token } from './helpers/flow.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/** Authorization codes: entropy, hashing, lifetime, binding, single use, replay revocation, concurrency. */
let ts: TestServer;
let offset = 0;
let conf: { app: App; secret: string | null };
let other: { app: App; secret: string | null };
let user: TestUser;

beforeAll(async () => {
  ts = await startTestServer({ now: () => Date.now() + offset });
  conf = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
  other = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

describe('authorization codes', () => {
  it('carry ≥128 random bits and are stored only as a keyed hash', async () => {
    const { code } = await getCode(ts, conf.app, user);
    expect(Buffer.from(code, 'base64url').length).toBeGreaterThanOrEqual(16);
    const rows = await ts.server.services.ctx.db.selectFrom('authorization_codes').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(code);
  });

  it('user access tokens carry sub, tid, client_id, scope and gid', async () => {
    const c = await getCode(ts, conf.app, user, { scope: 'contacts:read profile:read' });
    const r = await exchange(ts, conf.app, conf.secret, c.code, c.verifier);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const claims = decodeJwt(r.json.access_token);
    expect(claims).toMatchObject({
      sub: user.user.id,
      tid: user.user.tenant_id,
      client_id: conf.app.client_id,
      scope: 'contacts:read profile:read',
    });
    expect(typeof claims.gid).toBe('string');
  });

  it('live at most 60 s', async () => {
    const c = await getCode(ts, conf.app, user);
    offset += 61_000;
    try {
      const r = await exchange(ts, conf.app, conf.secret, c.code, c.verifier);
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_grant');
    } finally {
      offset -= 61_000;
    }
    const fresh = await getCode(ts, conf.app, user);
    offset += 55_000;
    try {
      expect((await exchange(ts, conf.app, conf.secret, fresh.code, fresh.verifier)).status).toBe(200);
    } finally {
      offset -= 55_000;
    }
  });

  it('are bound to the client: another client cannot redeem one, and that revokes nothing', async () => {
    const c = await getCode(ts, conf.app, user);
    const r = await exchange(ts, other.app, other.secret, c.code, c.verifier);
    expect(r.json.error).toBe('invalid_grant');
    expect((await exchange(ts, conf.app, conf.secret, c.code, c.verifier)).status).toBe(200);
  });

  it('are bound to the redirect_uri', async () => {
    const c = await getCode(ts, conf.app, user);
    const r = await exchange(ts, conf.app, conf.secret, c.code, c.verifier, 'https://app.example/other');
    expect(r.json.error).toBe('invalid_grant');
    const missing = await token(ts, conf.app, conf.secret, {
      grant_type: 'authorization_code',
      code: c.code,
      code_verifier: c.verifier!,
    });
    expect(missing.json.error).toBe('invalid_request');
  });

  it('are single-use: a second valid redemption gives invalid_grant and revokes everything issued from the code', async () => {
    const c = await getCode(ts, conf.app, user);
    const first = await exchange(ts, conf.app, conf.secret, c.code, c.verifier);
    expect(first.status).toBe(200);
    expect(await apiMe(ts, first.json.access_token)).toBe(200);
    const refreshed = await token(ts, conf.app, conf.secret, {
      grant_type: 'refresh_token',
      refresh_token: first.json.refresh_token,
    });
    expect(refreshed.status).toBe(200);

    const second = await exchange(ts, conf.app, conf.secret, c.code, c.verifier);
    expect(second.status).toBe(400);
    expect(second.json.error).toBe('invalid_grant');

    // Everything from that code is dead: both access tokens, the current refresh token.
    expect(await apiMe(ts, first.json.access_token)).toBe(401);
    expect(await apiMe(ts, refreshed.json.access_token)).toBe(401);
    expect((await introspect(ts, conf.app.client_id, conf.secret!, refreshed.json.access_token)).active).toBe(
      false,
    );
    const rt = await token(ts, conf.app, conf.secret, {
      grant_type: 'refresh_token',
      refresh_token: refreshed.json.refresh_token,
    });
    expect(rt.json.error).toBe('invalid_grant');
  });

  it('a replay that fails client authentication revokes nothing', async () => {
    const c = await getCode(ts, conf.app, user);
    const first = await exchange(ts, conf.app, conf.secret, c.code, c.verifier);
    expect(first.status).toBe(200);
    const replay = await exchange(
      ts,
      conf.app,
      'wrong-secret-wrong-secret-wrong-secret-123',
      c.code,
      c.verifier,
    );
    expect(replay.status).toBe(401);
    expect(replay.json.error).toBe('invalid_client');
    expect(await apiMe(ts, first.json.access_token)).toBe(200);
    const rt = await token(ts, conf.app, conf.secret, {
      grant_type: 'refresh_token',
      refresh_token: first.json.refresh_token,
    });
    expect(rt.status).toBe(200);
  });

  it('two concurrent redemptions give exactly one 200', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await getCode(ts, conf.app, user);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => exchange(ts, conf.app, conf.secret, c.code, c.verifier)),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 400, 400, 400, 400]);
      for (const r of results.filter((x) => x.status === 400)) expect(r.json.error).toBe('invalid_grant');
    }
  });

  it('unknown codes and missing parameters get RFC 6749 errors', async () => {
    expect(
      (
        await token(ts, conf.app, conf.secret, {
          grant_type: 'authorization_code',
          code: 'nope',
          redirect_uri: conf.app.callback_url,
        })
      ).json.error,
    ).toBe('invalid_grant');
    expect(
      (
        await token(ts, conf.app, conf.secret, {
          grant_type: 'authorization_code',
          redirect_uri: conf.app.callback_url,
        })
      ).json.error,
    ).toBe('invalid_request');
  });
});
