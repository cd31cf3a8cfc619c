import { createHmac, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let token: string;
let clientAuth: string;
beforeAll(async () => {
  ts = await startTestServer();
  const { app, secret } = await createTestApp(ts, { default_scopes: ['contacts:read'] });
  clientAuth = basicAuth(app.client_id, secret!);
  token = (
    await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: clientAuth },
    )
  ).json.access_token;
});
afterAll(async () => ts?.close());

const get = (path: string, authorization?: string) =>
  fetch(`${ts.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('protected sample API', () => {
  it('GET /api/v1/me returns subject, client, tenant and scopes', async () => {
    const res = await get('/api/v1/me', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    const claims = decodeJwt(token);
    expect(body).toMatchObject({
      sub: claims.sub,
      client_id: claims.client_id,
      tenant_id: claims.tid,
      scopes: ['contacts:read'],
    });
    // A client's own token names no user.
    expect(body).not.toHaveProperty('email');
  });

  it('accepts the bare token the seeds send, and a lower-case scheme', async () => {
    expect((await get('/api/v1/me', token)).status).toBe(200);
    expect((await get('/api/v1/me', `bearer ${token}`)).status).toBe(200);
  });

  it('GET /api/v1/contacts needs contacts:read', async () => {
    expect((await get('/api/v1/contacts', `Bearer ${token}`)).status).toBe(200);
    const narrow = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials', scope: 'profile:read' },
      {
        authorization: clientAuth,
      },
    );
    const res = await get('/api/v1/contacts', `Bearer ${narrow.json.access_token}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer .*error="insufficient_scope".*scope="contacts:read"/,
    );
    expect((await res.json()).error).toBe('insufficient_scope');
  });

  it('answers a missing token with 401 invalid_token, in the challenge and the body alike', async () => {
    const res = await get('/api/v1/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="clavis", error="invalid_token"/);
    expect((await res.json()).error).toBe('invalid_token');
  });

  const [h, p] = [0, 1];
  const forged: Array<[string, () => Promise<string> | string]> = [
    ['malformed', () => 'not-a-token'],
    ['wrong scheme', () => `Basic ${token}`],
    [
      'tampered payload',
      () => {
        const parts = token.split('.');
        const claims = JSON.parse(Buffer.from(parts[p]!, 'base64url').toString());
        claims.scope = 'contacts:read clavis:admin';
        return [parts[h], b64(claims), parts[2]].join('.');
      },
    ],
    [
      'alg none',
      () => {
        const parts = token.split('.');
        return `${b64({ alg: 'none', typ: 'at+jwt' })}.${parts[1]}.`;
      },
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const jwks = await (await fetch(`${ts.url}/.well-known/jwks.json`)).json();
        const jwk = jwks.keys[0];
        const parts = token.split('.');
        const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid });
        const input = `${header}.${parts[1]}`;
        // The classic confusion attack: use the public key's bytes as an HMAC secret.
        const keyBytes = JSON.stringify(jwk);
        return `${input}.${createHmac('sha256', keyBytes).update(input).digest('base64url')}`;
      },
    ],
    [
      'signed by another key',
      async () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const claims = decodeJwt(token);
        const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
        return new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
      },
    ],
    [
      'expired',
      async () => {
        const { signWithKey } = await import('../src/keys/key-store.js');
        const key = ts.server.services.keys.signingKey();
        const claims = { ...decodeJwt(token), iat: 1000, exp: 2000 };
        const input = `${key.atHeader}.${b64(claims)}`;
        return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
      },
    ],
    [
      'wrong audience',
      async () => {
        const { signWithKey } = await import('../src/keys/key-store.js');
        const key = ts.server.services.keys.signingKey();
        const claims = { ...decodeJwt(token), aud: 'https://other.api' };
        const input = `${key.atHeader}.${b64(claims)}`;
        return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
      },
    ],
    [
      'wrong issuer',
      async () => {
        const { signWithKey } = await import('../src/keys/key-store.js');
        const key = ts.server.services.keys.signingKey();
        const claims = { ...decodeJwt(token), iss: 'https://evil.test' };
        const input = `${key.atHeader}.${b64(claims)}`;
        return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
      },
    ],
    [
      'wrong typ (a plain JWT)',
      async () => {
        const { signWithKey } = await import('../src/keys/key-store.js');
        const key = ts.server.services.keys.signingKey();
        const header = b64({ alg: key.alg, typ: 'JWT', kid: key.kid });
        const input = `${header}.${token.split('.')[1]}`;
        return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
      },
    ],
  ];

  it.each(forged)('refuses a %s token with 401 invalid_token', async (_name, make) => {
    const bad = await make();
    const res = await get('/api/v1/me', bad.startsWith('Basic ') ? bad : `Bearer ${bad}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="clavis", error="invalid_token"/);
    const intro = await postForm(`${ts.url}/oauth/introspect`, { token: bad }, { authorization: clientAuth });
    expect(intro.json).toEqual({ active: false });
  });
});

describe('introspection and revocation', () => {
  it('introspects a live token as active with its claims', async () => {
    const r = await postForm(`${ts.url}/oauth/introspect`, { token }, { authorization: clientAuth });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const claims = decodeJwt(token);
    expect(r.json).toMatchObject({
      active: true,
      token_type: 'Bearer',
      client_id: claims.client_id,
      sub: claims.sub,
      scope: 'contacts:read',
      jti: claims.jti,
      exp: claims.exp,
    });
  });

  it('a revoked access token is at once inactive and refused by /api/v1/me', async () => {
    const t = (
      await postForm(
        `${ts.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: clientAuth },
      )
    ).json.access_token;
    expect((await get('/api/v1/me', `Bearer ${t}`)).status).toBe(200);
    const rev = await postForm(
      `${ts.url}/oauth/revoke`,
      { token: t, token_type_hint: 'access_token' },
      { authorization: clientAuth },
    );
    expect(rev.status).toBe(200);
    expect(
      (await postForm(`${ts.url}/oauth/introspect`, { token: t }, { authorization: clientAuth })).json,
    ).toEqual({ active: false });
    const me = await get('/api/v1/me', `Bearer ${t}`);
    expect(me.status).toBe(401);
    expect(me.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('does not revoke a token that belongs to another client, and still answers 200', async () => {
    const other = await createTestApp(ts);
    const otherAuth = basicAuth(other.app.client_id, other.secret!);
    const t = (
      await postForm(
        `${ts.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: clientAuth },
      )
    ).json.access_token;
    const rev = await postForm(`${ts.url}/oauth/revoke`, { token: t }, { authorization: otherAuth });
    expect(rev.status).toBe(200);
    expect((await get('/api/v1/me', `Bearer ${t}`)).status).toBe(200);
  });

  it('answers 200 for an unknown token', async () => {
    const rev = await postForm(
      `${ts.url}/oauth/revoke`,
      { token: 'never-issued' },
      { authorization: clientAuth },
    );
    expect(rev.status).toBe(200);
  });

  it("a disabled app's tokens are inactive at introspection", async () => {
    const { disableApp } = await import('../src/domain/apps.js');
    const { adminActor } = await import('./helpers/server.js');
    const victim = await createTestApp(ts);
    const t = (
      await postForm(
        `${ts.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        {
          authorization: basicAuth(victim.app.client_id, victim.secret!),
        },
      )
    ).json.access_token;
    await disableApp(ts.server.services.ctx, await adminActor(ts), victim.app.id);
    expect(
      (await postForm(`${ts.url}/oauth/introspect`, { token: t }, { authorization: clientAuth })).json,
    ).toEqual({ active: false });
    expect((await get('/api/v1/me', `Bearer ${t}`)).status).toBe(401);
  });
});
