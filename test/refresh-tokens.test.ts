import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, disableApp } from '../src/domain/apps.js';
import { refreshSecret } from '../src/domain/secrets.js';
import { deleteUser } from '../src/domain/users.js';
import { Browser, parseForms } from './helpers/browser.js';
import { apiMe, exchange, getCode, introspect, token } from './helpers/flow.js';
import { adminActor, createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/** Refresh tokens: rotation, reuse detection, concurrency, scope, lifetime, and what ends a grant. */
let ts: TestServer;
let offset = 0;
let conf: { app: App; secret: string | null };
let user: TestUser;

beforeAll(async () => {
  ts = await startTestServer({ now: () => Date.now() + offset });
  conf = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

async function tokensFor(app: { app: App; secret: string | null }, u: TestUser = user, scope?: string) {
  const c = await getCode(ts, app.app, u, { scope });
  const r = await exchange(ts, app.app, app.secret, c.code, c.verifier);
  expect(r.status).toBe(200);
  return {
    ...(r.json as { access_token: string; refresh_token: string; scope: string }),
    browser: c.browser,
  };
}

const refresh = (app: { app: App; secret: string | null }, rt: string, extra: Record<string, string> = {}) =>
  token(ts, app.app, app.secret, { grant_type: 'refresh_token', refresh_token: rt, ...extra });

describe('refresh tokens', () => {
  it('are opaque, stored hashed, and rotate on every use', async () => {
    const t = await tokensFor(conf);
    expect(t.refresh_token.split('.').length).toBe(1);
    const rows = await ts.server.services.ctx.db.selectFrom('refresh_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(t.refresh_token);
    let rt = t.refresh_token;
    const seen = new Set([rt]);
    for (let i = 0; i < 3; i++) {
      const r = await refresh(conf, rt);
      expect(r.status).toBe(200);
      expect(seen.has(r.json.refresh_token)).toBe(false);
      seen.add(r.json.refresh_token);
      expect(decodeJwt(r.json.access_token).sub).toBe(user.user.id);
      rt = r.json.refresh_token;
    }
  });

  it('reuse of an old one gives invalid_grant and revokes the whole grant', async () => {
    const t = await tokensFor(conf);
    const r1 = await refresh(conf, t.refresh_token);
    const reuse = await refresh(conf, t.refresh_token);
    expect(reuse.status).toBe(400);
    expect(reuse.json.error).toBe('invalid_grant');
    expect((await refresh(conf, r1.json.refresh_token)).json.error).toBe('invalid_grant');
    expect(await apiMe(ts, r1.json.access_token)).toBe(401);
    expect(await apiMe(ts, t.access_token)).toBe(401);
  });

  it('a replayed old token is reuse even when the replay asks for a bad or wider scope', async () => {
    for (const extra of [{ scope: 'contacts:write' }, { scope: '"' }]) {
      const t = await tokensFor(conf);
      const r1 = await refresh(conf, t.refresh_token);
      expect(r1.status).toBe(200);
      const replay = await refresh(conf, t.refresh_token, extra);
      expect(replay.status).toBe(400);
      expect(replay.json.error).toBe('invalid_grant');
      expect((await refresh(conf, r1.json.refresh_token)).json.error).toBe('invalid_grant');
    }
  });

  it('of N concurrent uses exactly one succeeds', async () => {
    for (let round = 0; round < 3; round++) {
      const t = await tokensFor(conf);
      const results = await Promise.all(Array.from({ length: 6 }, () => refresh(conf, t.refresh_token)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 200)) expect(r.json.error).toBe('invalid_grant');
    }
  });

  it('may narrow the scope, never widen it', async () => {
    const t = await tokensFor(conf, user, 'contacts:read profile:read');
    const narrow = await refresh(conf, t.refresh_token, { scope: 'contacts:read' });
    expect(narrow.status).toBe(200);
    expect(narrow.json.scope).toBe('contacts:read');
    expect(decodeJwt(narrow.json.access_token).scope).toBe('contacts:read');
    // The rotated refresh token keeps the original grant's scope (RFC 6749 §6).
    const back = await refresh(conf, narrow.json.refresh_token, { scope: 'contacts:read profile:read' });
    expect(back.status).toBe(200);
    const wide = await refresh(conf, back.json.refresh_token, { scope: 'contacts:read contacts:write' });
    expect(wide.status).toBe(400);
    expect(wide.json.error).toBe('invalid_scope');
    // A refused widening does not consume the token.
    expect((await refresh(conf, back.json.refresh_token)).status).toBe(200);
  });

  it('are bound to the client', async () => {
    const t = await tokensFor(conf);
    const other = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
    const r = await refresh(other, t.refresh_token);
    expect(r.json.error).toBe('invalid_grant');
    expect((await refresh(conf, t.refresh_token)).status).toBe(200);
  });

  it('have a sliding lifetime (60 days unused by default)', async () => {
    expect(ts.config.refreshTokenTtl).toBe(60 * 86400);
    const t = await tokensFor(conf);
    offset += 50 * 86400_000;
    try {
      const r1 = await refresh(conf, t.refresh_token);
      expect(r1.status).toBe(200);
      offset += 50 * 86400_000; // 100 days since the grant, 50 since the last use
      const r2 = await refresh(conf, r1.json.refresh_token);
      expect(r2.status).toBe(200);
      offset += 61 * 86400_000;
      const r3 = await refresh(conf, r2.json.refresh_token);
      expect(r3.status).toBe(400);
      expect(r3.json.error).toBe('invalid_grant');
    } finally {
      offset = 0;
    }
  });

  it('survive a client secret refresh: the new secret works, the old one is refused', async () => {
    const app = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
    const t = await tokensFor(app);
    const created = await refreshSecret(ts.server.services.ctx, await adminActor(ts), app.app.id);
    const old = await refresh(app, t.refresh_token);
    expect(old.status).toBe(401);
    expect(old.json.error).toBe('invalid_client');
    const r = await refresh({ app: app.app, secret: created.value }, t.refresh_token);
    expect(r.status).toBe(200);
    expect(await apiMe(ts, r.json.access_token)).toBe(200);
    expect(await apiMe(ts, t.access_token)).toBe(200);
  });

  it('introspect as active to their own client only', async () => {
    const t = await tokensFor(conf);
    expect(await introspect(ts, conf.app.client_id, conf.secret!, t.refresh_token)).toMatchObject({
      active: true,
      token_type: 'refresh_token',
      client_id: conf.app.client_id,
      sub: user.user.id,
    });
    const other = await createTestApp(ts);
    expect(await introspect(ts, other.app.client_id, other.secret!, t.refresh_token)).toEqual({
      active: false,
    });
  });
});

describe('what ends a grant at once', () => {
  it('disabling the app: no refresh, and its access tokens are inactive', async () => {
    const app = await createTestApp(ts, { callback_url: 'https://app.example/cb' });
    const t = await tokensFor(app);
    await disableApp(ts.server.services.ctx, await adminActor(ts), app.app.id);
    const r = await refresh(app, t.refresh_token);
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
    expect(await apiMe(ts, t.access_token)).toBe(401);
    expect((await introspect(ts, conf.app.client_id, conf.secret!, t.access_token)).active).toBe(false);
  });

  it('disabling the user', async () => {
    const u = await createUser(ts);
    const t = await tokensFor(conf, u);
    await ts.server.services.ctx.db
      .updateTable('users')
      .set({ disabled_at: Date.now() })
      .where('id', '=', u.user.id)
      .execute();
    expect((await refresh(conf, t.refresh_token)).json.error).toBe('invalid_grant');
    expect(await apiMe(ts, t.access_token)).toBe(401);
    expect((await introspect(ts, conf.app.client_id, conf.secret!, t.access_token)).active).toBe(false);
    // Their browser session ends too.
    expect((await t.browser.get('/account/connected-apps')).status).toBe(303);
  });

  it('a refused refresh leaves the token as it was: no successor, usable once the reason is gone', async () => {
    // The lookup rotates at once (one round trip); a request then refused must undo that rotation.
    const u = await createUser(ts);
    const t = await tokensFor(conf, u);
    const db = ts.server.services.ctx.db;
    const liveTokens = async () =>
      (
        await db
          .selectFrom('refresh_tokens')
          .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
          .select('refresh_tokens.token_hash')
          .where('grants.user_id', '=', u.user.id)
          .where('refresh_tokens.used_at', 'is', null)
          .execute()
      ).length;
    expect(await liveTokens()).toBe(1);
    const wide = await refresh(conf, t.refresh_token, { scope: 'contacts:read contacts:write' });
    expect(wide.json.error).toBe('invalid_scope');
    const target = await refresh(conf, t.refresh_token, { resource: 'https://unknown.example/api' });
    expect(target.status).toBe(400);
    expect(await liveTokens()).toBe(1);
    await db.updateTable('users').set({ disabled_at: Date.now() }).where('id', '=', u.user.id).execute();
    expect((await refresh(conf, t.refresh_token)).json.error).toBe('invalid_grant');
    expect(await liveTokens()).toBe(1);
    await db.updateTable('users').set({ disabled_at: null }).where('id', '=', u.user.id).execute();
    const ok = await refresh(conf, t.refresh_token);
    expect(ok.status).toBe(200);
    // Rotated for real now: the old token is reuse.
    expect(await liveTokens()).toBe(1);
    expect((await refresh(conf, ok.json.refresh_token)).status).toBe(200);
  });

  it('removing the user', async () => {
    const u = await createUser(ts);
    const t = await tokensFor(conf, u);
    await deleteUser(ts.server.services.ctx, await adminActor(ts), u.user.id);
    expect((await refresh(conf, t.refresh_token)).json.error).toBe('invalid_grant');
    expect(await apiMe(ts, t.access_token)).toBe(401);
  });

  it('the user revoking the app on the connected apps page (POST + CSRF, 303)', async () => {
    const u = await createUser(ts);
    const t = await tokensFor(conf, u, 'contacts:read profile:read');
    const page = await t.browser.get('/account/connected-apps');
    expect(page.status).toBe(200);
    expect(page.html).toContain(conf.app.name);
    expect(page.html).toContain('See your contacts');
    const form = parseForms(page.html).find((f) => f.action === '/account/connected-apps/revoke');
    expect(form?.fields.app_id).toBe(conf.app.id);
    const asked = await t.browser.submit(page, '/account/connected-apps/revoke');
    expect(asked.status).toBe(303);
    expect(asked.location).toBe(`/account/connected-apps?confirm=${conf.app.id}`);
    expect((await refresh(conf, t.refresh_token)).status).toBe(200);
    const confirm = await t.browser.get(asked.location!);
    expect(confirm.html).toContain(`Revoke access for ${conf.app.name}?`);
    const res = await t.browser.submit(confirm, '/account/connected-apps/revoke', { confirm: 'yes' });
    expect(res.status).toBe(303);
    expect((await refresh(conf, t.refresh_token)).json.error).toBe('invalid_grant');
    expect(await apiMe(ts, t.access_token)).toBe(401);
    expect((await introspect(ts, conf.app.client_id, conf.secret!, t.access_token)).active).toBe(false);
    const after = await t.browser.get('/account/connected-apps');
    expect(after.html).not.toContain('/account/connected-apps/revoke"');
  });

  it('the connected apps page needs a session and a CSRF token', async () => {
    const anon = new Browser(ts.url);
    const r = await anon.get('/account/connected-apps');
    expect(r.status).toBe(303);
    expect(r.location).toContain('/login?return_to=');
    const u = await createUser(ts);
    const t = await tokensFor(conf, u);
    const page = await t.browser.get('/account/connected-apps');
    const bad = await t.browser.submit(page, '/account/connected-apps/revoke', { csrf: 'forged' });
    expect(bad.status).toBe(403);
    expect((await refresh(conf, t.refresh_token)).status).toBe(200);
  });
});
