import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccessTokenClaims,
  createVerifier,
  expressBearerAuth,
  fastifyBearerAuth,
  parseWwwAuthenticate,
  type Verifier,
} from '../src/index.js';
import { json, startServer, type TestServer, waitFor } from './helpers.js';

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AccessTokenClaims;
  }
}

let privateKey: CryptoKey;
let jwk: JWK;
let jwks: TestServer;
let verifier: Verifier;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'ES256' };
  jwks = await startServer((_req, res) => json(res, 200, { keys: [jwk] }));
  verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.url });
});
afterAll(() => jwks.close());

async function token(scope: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'u1', scope, iat: now, exp: now + 60, ...overrides })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k' })
    .sign(privateKey);
}

type Call = (
  path: string,
  authorization?: string,
) => Promise<{ status: number; www: string | null; body: any }>;

/** The same RFC 6750 behaviour matrix, run against each framework adapter. */
function behavesLikeRfc6750(call: () => Call) {
  it('200 with claims on request.auth for a valid token', async () => {
    const res = await call()('/orders', `Bearer ${await token('read write')}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'u1', scope: 'read write' });
  });

  it('accepts a case-insensitive scheme', async () => {
    const res = await call()('/orders', `bearer ${await token('read')}`);
    expect(res.status).toBe(200);
  });

  it('401 with a plain Bearer realm challenge when no token is sent', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz']) {
      const res = await call()('/orders', authorization);
      expect(res.status).toBe(401);
      expect(res.www).toBe(`Bearer realm="${AUDIENCE}"`);
    }
  });

  it('401 invalid_token with error_description for a bad token', async () => {
    const res = await call()('/orders', `Bearer ${await token('read', { aud: 'https://other.example' })}`);
    expect(res.status).toBe(401);
    const [challenge] = parseWwwAuthenticate(res.www!);
    expect(challenge!.scheme).toBe('Bearer');
    expect(challenge!.params).toMatchObject({ realm: AUDIENCE, error: 'invalid_token' });
    expect(challenge!.params.error_description).toMatch(/aud/);
    expect(res.body.error).toBe('invalid_token');
  });

  it('403 insufficient_scope with the required scope in the challenge', async () => {
    const res = await call()('/admin', `Bearer ${await token('read')}`);
    expect(res.status).toBe(403);
    const [challenge] = parseWwwAuthenticate(res.www!);
    expect(challenge!.params).toMatchObject({ error: 'insufficient_scope', scope: 'admin' });
    expect(res.body.error).toBe('insufficient_scope');
  });
}

describe('fastifyBearerAuth', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    app.get('/orders', { preHandler: fastifyBearerAuth(verifier) }, async (req) => ({
      sub: req.auth?.sub,
      scope: req.auth?.scope,
    }));
    app.register(async (scoped) => {
      scoped.addHook('preHandler', fastifyBearerAuth(verifier, { requiredScopes: ['admin'] }));
      scoped.get('/admin', async () => ({ ok: true }));
    });
    await app.ready();
  });
  afterAll(() => app.close());

  behavesLikeRfc6750(() => async (url, authorization) => {
    const res = await app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
    return {
      status: res.statusCode,
      www: (res.headers['www-authenticate'] as string) ?? null,
      body: res.json(),
    };
  });

  it('answers a JWKS outage with 503 temporarily_unavailable, without the key server address', async () => {
    const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:1/jwks' });
    const down = Fastify();
    down.get('/x', { preHandler: fastifyBearerAuth(v) }, async () => ({ ok: true }));
    const res = await down.inject({
      method: 'GET',
      url: '/x',
      headers: { authorization: `Bearer ${await token('read')}` },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toBe('temporarily_unavailable');
    expect(res.body).not.toContain('127.0.0.1:1');
    expect(res.headers['retry-after']).toBe('5');
    await down.close();
  });
});

describe('expressBearerAuth (on plain node:http, the API Express builds on)', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const orders = expressBearerAuth(verifier);
    const admin = expressBearerAuth(verifier, { requiredScopes: ['admin'] });
    server = http.createServer((req, res) => {
      const middleware = req.url === '/admin' ? admin : orders;
      const request = req as http.IncomingMessage & { auth?: AccessTokenClaims };
      middleware(request, res, (err) => {
        if (err) {
          res.statusCode = 500;
          return res.end();
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ sub: request.auth?.sub, scope: request.auth?.scope }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  behavesLikeRfc6750(() => async (path, authorization) => {
    const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });
    return { status: res.status, www: res.headers.get('www-authenticate'), body: await res.json() };
  });

  it('passes JWKS outages to next(err) instead of answering 401', async () => {
    const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:1/jwks' });
    const errors: unknown[] = [];
    await new Promise<void>((resolve) => {
      expressBearerAuth(v)(
        { headers: { authorization: 'Bearer a.b.c' } },
        { statusCode: 200, setHeader: () => undefined, end: () => resolve() },
        (err) => {
          errors.push(err);
          resolve();
        },
      );
    });
    // a.b.c is not even a JWT: rejected before any key lookup
    expect(errors).toEqual([]);

    const real = await token('read');
    const err = await new Promise<unknown>((resolve) => {
      expressBearerAuth(v)(
        { headers: { authorization: `Bearer ${real}` } },
        { statusCode: 200, setHeader: () => undefined, end: () => resolve('answered') },
        resolve,
      );
    });
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('JwksUnavailableError');
  });

  it('a downstream handler that throws is neither an unhandled rejection nor a second next(err)', async () => {
    // Vitest reports uncaught errors itself: swap its listeners out while the handler throws.
    const savedRejection = process.listeners('unhandledRejection');
    const savedException = process.listeners('uncaughtException');
    process.removeAllListeners('unhandledRejection');
    process.removeAllListeners('uncaughtException');
    const rejections: unknown[] = [];
    const uncaught: unknown[] = [];
    process.on('unhandledRejection', (r) => rejections.push(r));
    process.on('uncaughtException', (e) => uncaught.push(e));
    const calls: unknown[] = [];
    try {
      const bug = new Error('handler bug');
      expressBearerAuth(verifier)(
        { headers: { authorization: `Bearer ${await token('read')}` } },
        { statusCode: 200, setHeader: () => undefined, end: () => undefined },
        (err) => {
          calls.push(err);
          throw bug;
        },
      );
      await waitFor(() => uncaught.length > 0, 'the handler error to surface');
      await new Promise((r) => setImmediate(r)); // a second next() or a rejection would be reported by now
      expect(calls).toEqual([undefined]); // next() once, never next(bug)
      expect(rejections).toEqual([]);
      expect(uncaught).toEqual([bug]); // as from synchronous middleware
    } finally {
      process.removeAllListeners('unhandledRejection');
      process.removeAllListeners('uncaughtException');
      for (const l of savedRejection) process.on('unhandledRejection', l);
      for (const l of savedException) process.on('uncaughtException', l);
    }
  });
});
