/**
 * Cross-origin reads for single-page apps (src/http/cors.ts): a public client's page, at its callback URL's
 * origin, reads the token, revocation and UserInfo answers; any other page, and any page of a confidential
 * client, gets no Access-Control-Allow-Origin; discovery and the JWKS are readable by all; introspection by
 * none. Real HTTP with the Origin header a browser sends (the browser's side is test/e2e).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, disableApp } from '../src/domain/apps.js';
import { exchange, getCode } from './helpers/flow.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

const SPA = 'https://spa.example.com';
const EVIL = 'https://evil.example.net';

let ts: TestServer;
let spa: App;
let confidential: { app: App; secret: string };
let user: TestUser;
beforeAll(async () => {
  ts = await startTestServer();
  spa = (await createTestApp(ts, { client_type: 'public', callback_url: `${SPA}/callback` })).app;
  const c = await createTestApp(ts, { callback_url: `${SPA}/server-callback` });
  confidential = { app: c.app, secret: c.secret! };
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

const preflight = (path: string, origin: string, headers = 'content-type') =>
  fetch(`${ts.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
  });

async function spaTokens(): Promise<{ access_token: string; refresh_token: string }> {
  const c = await getCode(ts, spa, user, { scope: 'openid' });
  const r = await exchange(ts, spa, null, c.code, c.verifier);
  expect(r.status).toBe(200);
  return r.json;
}

describe('CORS for browser apps', () => {
  it('answers preflights of the token, revocation and UserInfo endpoints; not of introspection', async () => {
    for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/userinfo']) {
      const r = await preflight(path, SPA, 'authorization, content-type');
      expect(r.status, path).toBe(204);
      expect(r.headers.get('access-control-allow-origin'), path).toBe(SPA);
      expect(r.headers.get('access-control-allow-methods'), path).toContain('POST');
      expect(r.headers.get('access-control-allow-headers'), path).toContain('authorization');
      expect(r.headers.get('access-control-allow-credentials'), path).toBeNull();
      expect(r.headers.get('vary'), path).toMatch(/origin/i);
    }
    // A preflight names no client: an origin no public app has gets no CORS headers, never its own echoed.
    for (const origin of [EVIL, 'https://spa.example.com.evil.net', 'http://spa.example.com']) {
      const r = await preflight('/oauth/token', origin);
      expect(r.status, origin).toBe(204);
      expect(r.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(r.headers.get('access-control-allow-methods'), origin).toBeNull();
    }
    // The origin of a confidential app's callback is not a page's either.
    const conf = await createTestApp(ts, { callback_url: 'https://server-side.example.org/cb' });
    expect(conf.app.client_type).toBe('confidential');
    expect(
      (await preflight('/oauth/token', 'https://server-side.example.org')).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
    const intro = await preflight('/oauth/introspect', SPA);
    expect(intro.status).toBe(405);
    expect(intro.headers.get('access-control-allow-origin')).toBeNull();
    // A plain OPTIONS, not a preflight, is still refused with the allowed method.
    const plain = await fetch(`${ts.url}/oauth/token`, { method: 'OPTIONS' });
    expect(plain.status).toBe(405);
    expect(plain.headers.get('allow')).toBe('POST');
    expect((await plain.json()).error).toBe('invalid_request');
  });

  it("lets the public client's page read its tokens, refreshes and errors", async () => {
    const c = await getCode(ts, spa, user, { scope: 'openid' });
    const r = await exchange(ts, spa, null, c.code, c.verifier);
    expect(r.status).toBe(200);
    const ok = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: r.json.refresh_token, client_id: spa.client_id },
      { origin: SPA },
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SPA);
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    const bad = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: r.json.refresh_token, client_id: spa.client_id },
      { origin: SPA },
    );
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_grant');
    expect(bad.headers.get('access-control-allow-origin')).toBe(SPA);
  });

  it('gives no other page, and no page of a confidential client, the right to read', async () => {
    const form = { grant_type: 'refresh_token', refresh_token: 'nope', client_id: spa.client_id };
    const evil = await postForm(`${ts.url}/oauth/token`, form, { origin: EVIL });
    expect(evil.status).toBe(400);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('vary')).toMatch(/origin/i);
    // Same host, other scheme or port: another origin.
    for (const origin of ['http://spa.example.com', 'https://spa.example.com:8443', 'null']) {
      const r = await postForm(`${ts.url}/oauth/token`, form, { origin });
      expect(r.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    const conf = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { origin: SPA, authorization: basicAuth(confidential.app.client_id, confidential.secret) },
    );
    expect(conf.status).toBe(200);
    expect(conf.headers.get('access-control-allow-origin')).toBeNull();
    const confPost = await postForm(
      `${ts.url}/oauth/token`,
      {
        grant_type: 'client_credentials',
        client_id: confidential.app.client_id,
        client_secret: confidential.secret,
      },
      { origin: SPA },
    );
    expect(confPost.status).toBe(200);
    expect(confPost.headers.get('access-control-allow-origin')).toBeNull();
    const unknown = await postForm(
      `${ts.url}/oauth/token`,
      { ...form, client_id: 'no-such-client' },
      { origin: SPA },
    );
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the page read UserInfo with its token, a 401 with its challenge, and revoke its tokens', async () => {
    const t = await spaTokens();
    const info = await fetch(`${ts.url}/oauth/userinfo`, {
      headers: { origin: SPA, authorization: `Bearer ${t.access_token}` },
    });
    expect(info.status).toBe(200);
    expect(info.headers.get('access-control-allow-origin')).toBe(SPA);
    const other = await fetch(`${ts.url}/oauth/userinfo`, {
      headers: { origin: EVIL, authorization: `Bearer ${t.access_token}` },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const revoked = await postForm(
      `${ts.url}/oauth/revoke`,
      { token: t.access_token, client_id: spa.client_id },
      { origin: SPA },
    );
    expect(revoked.status).toBe(200);
    expect(revoked.headers.get('access-control-allow-origin')).toBe(SPA);
    const after = await fetch(`${ts.url}/oauth/userinfo`, {
      headers: { origin: SPA, authorization: `Bearer ${t.access_token}` },
    });
    expect(after.status).toBe(401);
    expect(after.headers.get('access-control-allow-origin')).toBe(SPA);
    expect(after.headers.get('access-control-expose-headers')).toMatch(/www-authenticate/i);
    expect(after.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('lets any page read discovery and the JWKS, and no page introspect', async () => {
    for (const path of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/.well-known/jwks.json',
    ]) {
      const r = await fetch(`${ts.url}${path}`, { headers: { origin: EVIL } });
      expect(r.status, path).toBe(200);
      expect(r.headers.get('access-control-allow-origin'), path).toBe('*');
    }
    const t = await spaTokens();
    const intro = await postForm(
      `${ts.url}/oauth/introspect`,
      { token: t.access_token },
      { origin: SPA, authorization: basicAuth(confidential.app.client_id, confidential.secret) },
    );
    expect(intro.status).toBe(200);
    expect(intro.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('preflights follow the apps: a new public app, an IDN callback, a disabled app', async () => {
    const { ctx } = ts.server.services;
    const origin = 'https://new-spa.example.com';
    expect(
      (await preflight('/oauth/userinfo', origin)).headers.get('access-control-allow-origin'),
    ).toBeNull();
    const fresh = (await createTestApp(ts, { client_type: 'public', callback_url: `${origin}/cb` })).app;
    expect((await preflight('/oauth/userinfo', origin)).headers.get('access-control-allow-origin')).toBe(
      origin,
    );
    // An internationalised host: the browser sends it in punycode.
    await createTestApp(ts, { client_type: 'public', callback_url: 'https://bücher.example.com/cb' });
    const idn = 'https://xn--bcher-kva.example.com';
    expect((await preflight('/oauth/userinfo', idn)).headers.get('access-control-allow-origin')).toBe(idn);
    await disableApp(ctx, await adminActor(ts), fresh.id);
    expect(
      (await preflight('/oauth/userinfo', origin)).headers.get('access-control-allow-origin'),
    ).toBeNull();
    const r = await postForm(
      `${ts.url}/oauth/revoke`,
      { token: 'anything', client_id: fresh.client_id },
      { origin },
    );
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a forged token naming an odd client at UserInfo is a 401 challenge, with or without Origin', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    for (const clientId of ['a\u0000b', 'x'.repeat(5000), spa.client_id]) {
      const forged = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64({ client_id: clientId, sub: 'u' })}.c2ln`;
      for (const headers of [{ origin: SPA }, {}] as Array<Record<string, string>>) {
        const r = await fetch(`${ts.url}/oauth/userinfo`, {
          headers: { ...headers, authorization: `Bearer ${forged}` },
        });
        expect(r.status, clientId.slice(0, 20)).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/invalid_token/);
      }
    }
  });

  it("takes a loopback callback's address on any port as its page, as redirects do (RFC 8252)", async () => {
    const local = (
      await createTestApp(ts, { client_type: 'public', callback_url: 'http://127.0.0.1/callback' })
    ).app;
    const form = { grant_type: 'refresh_token', refresh_token: 'nope', client_id: local.client_id };
    const dev = await postForm(`${ts.url}/oauth/token`, form, { origin: 'http://127.0.0.1:5173' });
    expect(dev.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    for (const origin of ['http://localhost:5173', 'https://127.0.0.1:5173', 'http://[::1]:5173']) {
      const r = await postForm(`${ts.url}/oauth/token`, form, { origin });
      expect(r.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });
});
