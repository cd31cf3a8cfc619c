import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWithKey } from '../src/keys/key-store.js';
import { basicAuth, createTestApp, postForm, startTestServer, type TestServer } from './helpers/server.js';

/*
 * The server's access-token verifier checks what the SDK's checks (typ, iss, aud, exp, nbf, iat with a small
 * leeway, and an age cap from the configured TTL), and a signed token with a malformed claims set is a 401,
 * never a 500. Tokens here are signed with the server's own key, so only the claims are wrong.
 */

let ts: TestServer;
let offsetMs = 0;
let clientAuth: string;
const now = () => Date.now() + offsetMs;

beforeAll(async () => {
  ts = await startTestServer({ now, env: { CLAVIS_ACCESS_TOKEN_TTL: '600' } });
  const { app, secret } = await createTestApp(ts, { default_scopes: ['contacts:read'] });
  clientAuth = basicAuth(app.client_id, secret!);
});
afterAll(async () => ts?.close());

async function realToken(): Promise<string> {
  const r = await postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: clientAuth },
  );
  expect(r.status).toBe(200);
  return r.json.access_token;
}

/** Signs `payload` (any JSON value) with the server's current signing key and an at+jwt header. */
async function forge(payload: unknown): Promise<string> {
  const key = ts.server.services.keys.signingKey();
  const input = `${key.atHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
}

const me = async (token: string) =>
  (await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status;

async function introspectActive(token: string): Promise<boolean> {
  const r = await postForm(`${ts.url}/oauth/introspect`, { token }, { authorization: clientAuth });
  expect(r.status).toBe(200);
  return r.json.active;
}

describe('server access-token verifier', () => {
  it('accepts a token with the real claims re-signed (the forging helper is sound)', async () => {
    const claims = decodeJwt(await realToken());
    const token = await forge(claims);
    expect(await me(token)).toBe(200);
    expect(await introspectActive(token)).toBe(true);
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['an array', [1, 2]],
    ['a string', 'claims'],
  ])('answers 401 to a signed token whose payload is %s', async (_name, payload) => {
    const token = await forge(payload);
    expect(await me(token)).toBe(401);
    expect(await introspectActive(token)).toBe(false);
  });

  it('refuses a token that is not valid yet (nbf in the future)', async () => {
    const claims = decodeJwt(await realToken());
    const token = await forge({ ...claims, nbf: Math.floor(now() / 1000) + 3600 });
    expect(await me(token)).toBe(401);
    expect(await introspectActive(token)).toBe(false);
  });

  it('refuses a token issued in the future (iat beyond the leeway)', async () => {
    const claims = decodeJwt(await realToken());
    const iat = Math.floor(now() / 1000) + 3600;
    const token = await forge({ ...claims, iat, exp: iat + 600 });
    expect(await me(token)).toBe(401);
  });

  it('allows a small clock skew on iat', async () => {
    const claims = decodeJwt(await realToken());
    const token = await forge({ ...claims, iat: (claims.iat as number) + 5 });
    expect(await me(token)).toBe(200);
  });

  it('refuses a token without iat', async () => {
    const { iat: _iat, ...claims } = decodeJwt(await realToken());
    expect(await me(await forge(claims))).toBe(401);
  });

  it('caps the lifetime at the configured TTL whatever exp says', async () => {
    const claims = decodeJwt(await realToken());
    const token = await forge({ ...claims, exp: (claims.iat as number) + 10 * 365 * 86400 });
    expect(await me(token)).toBe(200);
    offsetMs = 700_000; // past the 600 s TTL and the leeway
    try {
      expect(await me(token)).toBe(401);
      expect(await introspectActive(token)).toBe(false);
    } finally {
      offsetMs = 0;
    }
  });

  it('refuses wrong typ, iss and aud', async () => {
    const claims = decodeJwt(await realToken());
    expect(await me(await forge({ ...claims, iss: 'https://elsewhere.example' }))).toBe(401);
    expect(await me(await forge({ ...claims, aud: 'https://elsewhere.example/api' }))).toBe(401);
    const key = ts.server.services.keys.signingKey();
    const header = Buffer.from(JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.kid })).toString(
      'base64url',
    );
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    expect(await me(`${input}.${(await signWithKey(key, input)).toString('base64url')}`)).toBe(401);
  });

  it('accepts only the header Clavis signs under, even with a good signature and claims', async () => {
    const claims = decodeJwt(await realToken());
    const key = ts.server.services.keys.signingKey();
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signed = async (header: Record<string, unknown>) => {
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}`;
      return `${input}.${(await signWithKey(key, input)).toString('base64url')}`;
    };
    // The control: the same claims under the key's own header pass.
    expect(await me(await signed({ alg: key.alg, typ: 'at+jwt', kid: key.kid }))).toBe(200);
    for (const header of [
      { alg: key.alg, typ: 'application/at+jwt', kid: key.kid },
      { alg: key.alg, typ: 'at+jwt', kid: key.kid, jku: 'https://attacker.example/jwks' },
      { alg: key.alg, typ: 'at+jwt', kid: key.kid, crit: ['exp'], exp: 1 },
      { kid: key.kid, typ: 'at+jwt', alg: key.alg },
    ]) {
      const token = await signed(header);
      expect(await me(token)).toBe(401);
      expect(await introspectActive(token)).toBe(false);
    }
  });
});
