import { base64url, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createVerifier,
  InsufficientScopeError,
  InvalidTokenError,
  JwksUnavailableError,
  type Verifier,
} from '../src/index.js';
import { json, startServer, type TestServer } from './helpers.js';

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';

type Key = Awaited<ReturnType<typeof generateKeyPair>>;

async function keyWithJwk(alg: string, kid: string) {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  return { ...pair, jwk, alg, kid };
}

function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'app',
    scope: 'read write',
    iat: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
    ...overrides,
  };
}

async function sign(
  key: { privateKey: Key['privateKey']; alg: string; kid: string },
  payload: JWTPayload = claims(),
  header: Record<string, unknown> = {},
) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

describe('createVerifier', () => {
  let es256: Awaited<ReturnType<typeof keyWithJwk>>;
  let rs256: Awaited<ReturnType<typeof keyWithJwk>>;
  let eddsa: Awaited<ReturnType<typeof keyWithJwk>>;
  let jwksServer: TestServer;
  let verifier: Verifier;

  beforeAll(async () => {
    es256 = await keyWithJwk('ES256', 'es');
    rs256 = await keyWithJwk('RS256', 'rs');
    eddsa = await keyWithJwk('EdDSA', 'ed');
    jwksServer = await startServer((_req, res) =>
      json(res, 200, { keys: [es256.jwk, rs256.jwk, eddsa.jwk] }),
    );
    verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: `${jwksServer.url}/jwks` });
  });
  afterAll(() => jwksServer.close());

  it('accepts valid ES256, RS256 and EdDSA access tokens and returns their claims', async () => {
    for (const key of [es256, rs256, eddsa]) {
      const result = await verifier.verify(await sign(key));
      expect(result).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', scope: 'read write' });
    }
    // typ may also be spelled as a full media type (RFC 9068 §4)
    await expect(
      verifier.verify(await sign(es256, claims(), { typ: 'application/at+jwt' })),
    ).resolves.toBeDefined();
  });

  it('rejects alg "none"', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
    const payload = base64url.encode(JSON.stringify(claims()));
    const err = await verifier.verify(`${header}.${payload}.`).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidTokenError);
    expect(err.message).toMatch(/not allowed/);
  });

  it('rejects HS256 tokens "signed" with the public key, without even fetching the JWKS', async () => {
    const requests: string[] = [];
    const fresh = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${jwksServer.url}/jwks`,
      fetch: (input, init) => {
        requests.push(String(input));
        return fetch(input, init);
      },
    });
    const pem = await exportSPKI(rs256.publicKey);
    for (const secret of [pem, JSON.stringify(rs256.jwk), JSON.stringify(es256.jwk)]) {
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'rs' })
        .sign(new TextEncoder().encode(secret));
      await expect(fresh.verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);
    }
    expect(requests).toEqual([]);
  });

  it('refuses to be configured with none or HS* algorithms', () => {
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] })).toThrow(
      TypeError,
    );
    expect(() =>
      createVerifier({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256', 'none'] }),
    ).toThrow(TypeError);
  });

  it('rejects algorithms outside the allow-list even with a valid signature', async () => {
    const es384 = await keyWithJwk('ES384', 'es384');
    const server = await startServer((_req, res) => json(res, 200, { keys: [es384.jwk] }));
    try {
      const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.url });
      await expect(v.verify(await sign(es384))).rejects.toBeInstanceOf(InvalidTokenError);
      const allowing = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: server.url,
        algorithms: ['ES384'],
      });
      await expect(allowing.verify(await sign(es384))).resolves.toBeDefined();
    } finally {
      await server.close();
    }
  });

  it('rejects a wrong typ (plain JWT, id_token style) and a missing typ', async () => {
    await expect(verifier.verify(await sign(es256, claims(), { typ: 'JWT' }))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    const noTyp = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: 'es' })
      .sign(es256.privateKey);
    await expect(verifier.verify(noTyp)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('rejects a wrong audience and a wrong issuer', async () => {
    const wrongAud = await verifier
      .verify(await sign(es256, claims({ aud: 'https://other.example' })))
      .catch((e) => e);
    expect(wrongAud).toBeInstanceOf(InvalidTokenError);
    expect(wrongAud.message).toMatch(/aud/);
    const wrongIss = await verifier
      .verify(await sign(es256, claims({ iss: 'https://evil.example' })))
      .catch((e) => e);
    expect(wrongIss).toBeInstanceOf(InvalidTokenError);
    expect(wrongIss.message).toMatch(/iss/);
    // aud arrays are fine as long as one matches
    await expect(verifier.verify(await sign(es256, claims({ aud: ['x', AUDIENCE] })))).resolves.toBeDefined();
  });

  it('rejects expired and not-yet-valid tokens, allowing the configured clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await verifier.verify(await sign(es256, claims({ exp: now - 60 }))).catch((e) => e);
    expect(expired).toBeInstanceOf(InvalidTokenError);
    expect(expired.message).toMatch(/exp/);
    await expect(verifier.verify(await sign(es256, claims({ exp: now - 10 })))).resolves.toBeDefined(); // 30 s skew
    await expect(verifier.verify(await sign(es256, claims({ nbf: now + 120 })))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    const strict = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${jwksServer.url}/jwks`,
      clockToleranceSeconds: 0,
    });
    await expect(strict.verify(await sign(es256, claims({ exp: now - 10 })))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    const { exp: _omit, ...noExp } = claims();
    await expect(verifier.verify(await sign(es256, noExp))).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('rejects garbage, tampered signatures and unknown keys as InvalidTokenError', async () => {
    await expect(verifier.verify('')).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(verifier.verify('not-a-jwt')).rejects.toBeInstanceOf(InvalidTokenError);
    const token = await sign(es256);
    const [h, , s] = token.split('.');
    const tampered = `${h}.${base64url.encode(JSON.stringify(claims({ sub: 'admin' })))}.${s}`;
    await expect(verifier.verify(tampered)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('enforces required scopes (verifier-wide and per call) with InsufficientScopeError', async () => {
    const scoped = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${jwksServer.url}/jwks`,
      requiredScopes: ['read'],
    });
    await expect(scoped.verify(await sign(es256, claims({ scope: 'read' })))).resolves.toBeDefined();
    const err = await scoped
      .verify(await sign(es256, claims({ scope: 'read' })), { requiredScopes: ['admin'] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(InsufficientScopeError);
    expect(err).not.toBeInstanceOf(InvalidTokenError);
    expect(err).toMatchObject({ status: 403, error: 'insufficient_scope', missingScopes: ['admin'] });
    expect(err.requiredScopes).toEqual(['read', 'admin']);
    // "readonly" must not satisfy "read"; scp arrays are understood
    await expect(scoped.verify(await sign(es256, claims({ scope: 'readonly' })))).rejects.toBeInstanceOf(
      InsufficientScopeError,
    );
    await expect(
      scoped.verify(await sign(es256, claims({ scope: undefined, scp: ['read'] }))),
    ).resolves.toBeDefined();
  });

  it('reports an unreachable JWKS as JwksUnavailableError, not as an invalid token', async () => {
    const broken = await startServer((_req, res) => json(res, 500, {}));
    try {
      const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: broken.url });
      const err = await v.verify(await sign(es256)).catch((e) => e);
      expect(err).toBeInstanceOf(JwksUnavailableError);
      expect(err).not.toBeInstanceOf(InvalidTokenError);
    } finally {
      await broken.close();
    }
  });
});

describe('JWKS caching and rotation', () => {
  it('re-fetches the JWKS on an unknown kid, but at most once per cooldown', async () => {
    const current = await keyWithJwk('ES256', 'current');
    const next = await keyWithJwk('ES256', 'next');
    const published: JWK[] = [current.jwk];
    const server = await startServer((_req, res) => json(res, 200, { keys: published }));
    // Only the clock is fake (jose times its cooldown with Date.now); timers and I/O stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const v = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: server.url,
        jwksCooldownMs: 400,
      });

      await v.verify(await sign(current));
      await v.verify(await sign(current));
      expect(server.requests).toHaveLength(1); // cached

      // A burst of tokens with unknown kids right after a fetch: no extra JWKS requests.
      const unknown = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          sign({ ...next, kid: `random-${i}` }).then((t) => v.verify(t).catch((e) => e)),
        ),
      );
      expect(unknown.every((e) => e instanceof InvalidTokenError)).toBe(true);
      expect(server.requests).toHaveLength(1);

      // The server rotates in a new key; after the cooldown one unknown kid triggers exactly one re-fetch.
      published.push(next.jwk);
      vi.setSystemTime(Date.now() + 450); // the cooldown passes without the test waiting for it
      await expect(v.verify(await sign(next))).resolves.toBeDefined();
      expect(server.requests).toHaveLength(2);

      const again = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sign({ ...next, kid: `other-${i}` }).then((t) => v.verify(t).catch((e) => e)),
        ),
      );
      expect(again.every((e) => e instanceof InvalidTokenError)).toBe(true);
      expect(server.requests).toHaveLength(2);
      await v.verify(await sign(current));
      expect(server.requests).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      await server.close();
    }
  });

  it('discovers jwks_uri from the issuer metadata when not configured', async () => {
    const key = await keyWithJwk('ES256', 'k');
    const server = await startServer((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        return json(res, 200, { issuer: server.url, jwks_uri: `${server.url}/keys` });
      }
      if (req.url === '/keys') return json(res, 200, { keys: [key.jwk] });
      json(res, 404, {});
    });
    try {
      const v = createVerifier({ issuer: server.url, audience: AUDIENCE });
      await expect(v.verify(await sign(key, claims({ iss: server.url })))).resolves.toBeDefined();
      expect(server.requests.map((r) => r.url)).toEqual(['/.well-known/oauth-authorization-server', '/keys']);
    } finally {
      await server.close();
    }
  });
});
