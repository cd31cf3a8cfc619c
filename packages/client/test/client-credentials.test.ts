import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientCredentials,
  clientSecretBasic,
  createVerifier,
  NetworkError,
  OAuthError,
  UnexpectedResponseError,
} from '../src/index.js';
import {
  API,
  delay,
  json,
  SVC_SECRET,
  startAuthorizationServer,
  startServer,
  type TestAuthorizationServer,
} from './helpers.js';

const FAST_RETRY = { retries: 3, baseDelayMs: 10, maxDelayMs: 40 };

describe('clientCredentials against oidc-provider', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTTL: 300 });
  });
  afterAll(() => as.close());

  it('discovers the token endpoint and obtains a verifiable JWT access token (client_secret_basic)', async () => {
    const tokens = clientCredentials({
      issuer: as.issuer,
      clientId: 'svc',
      clientSecret: SVC_SECRET,
      scope: 'read',
    });
    const before = as.log.length;
    const token = await tokens.getToken();

    expect(as.log.slice(before)).toEqual(['GET /.well-known/oauth-authorization-server', 'POST /token']);
    const last = as.tokenRequests.at(-1)!;
    expect(last.headers.authorization).toBe(clientSecretBasic('svc', SVC_SECRET));
    const claims = await createVerifier({ issuer: as.issuer, audience: API }).verify(token);
    expect(claims).toMatchObject({ client_id: 'svc', scope: 'read', aud: API });

    const response = await tokens.getTokenResponse();
    expect(response.access_token).toBe(token);
    expect(response.token_type.toLowerCase()).toBe('bearer');
    expect(response.expiresAt).toBeGreaterThan(Date.now() + 290_000);
  });

  it('supports client_secret_post, scope arrays and audience → resource', async () => {
    const tokens = clientCredentials({
      issuer: as.issuer,
      clientId: 'svc-post',
      clientSecret: 'post-secret',
      authMethod: 'client_secret_post',
      scope: ['read', 'write'],
      audience: 'https://other-api.example',
    });
    const claims = decodeJwt(await tokens.getToken());
    expect(claims).toMatchObject({
      client_id: 'svc-post',
      scope: 'read write',
      aud: 'https://other-api.example',
    });
    expect(as.tokenRequests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('single-flight: 100 concurrent getToken() calls cause exactly one token request', async () => {
    const tokens = clientCredentials({ issuer: as.issuer, clientId: 'svc', clientSecret: SVC_SECRET });
    const before = as.tokenRequests.length;
    const logBefore = as.log.length;

    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));

    expect(as.tokenRequests.length - before).toBe(1);
    expect(as.log.slice(logBefore).filter((l) => l.includes('.well-known'))).toHaveLength(1);
    expect(new Set(results).size).toBe(1);
    // and the cached token is reused afterwards
    await tokens.getToken();
    expect(as.tokenRequests.length - before).toBe(1);
  });

  it('invalidate(token) only drops the cache when it still holds that token', async () => {
    const tokens = clientCredentials({ issuer: as.issuer, clientId: 'svc', clientSecret: SVC_SECRET });
    const first = await tokens.getToken();
    tokens.invalidate('some-other-token');
    expect(await tokens.getToken()).toBe(first);
    tokens.invalidate(first);
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
  });

  it('never retries invalid_client: one request, typed OAuthError with error and error_description', async () => {
    const tokens = clientCredentials({
      issuer: as.issuer,
      clientId: 'svc',
      clientSecret: 'wrong',
      retry: FAST_RETRY,
    });
    await tokens.getToken().catch(() => undefined); // discovery + first attempt
    const before = as.tokenRequests.length;
    const err = await tokens.getToken().catch((e: unknown) => e);

    expect(as.tokenRequests.length - before).toBe(1);
    expect(err).toBeInstanceOf(OAuthError);
    const oauth = err as OAuthError;
    expect(oauth.error).toBe('invalid_client');
    expect(oauth.error_description).toEqual(expect.any(String));
    expect(oauth.status).toBe(401);
    expect(oauth.code).toBe('ERR_OAUTH');
  });
});

describe('clientCredentials proactive refresh', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTTL: 2 });
  });
  afterAll(() => as.close());

  it('refreshes ahead of expiry (expires_in: 2) so no caller ever receives an expired token', async () => {
    const tokens = clientCredentials({ issuer: as.issuer, clientId: 'svc', clientSecret: SVC_SECRET });
    // Strict verifier: zero clock tolerance, so a token past its exp fails.
    const verifier = createVerifier({ issuer: as.issuer, audience: API, clockToleranceSeconds: 0 });
    expect((await tokens.getTokenResponse()).expires_in).toBe(2);

    const before = as.tokenRequests.length - 1;
    const seen = new Set<string>();
    const started = Date.now();
    while (Date.now() - started < 3300) {
      const token = await tokens.getToken();
      seen.add(token);
      await verifier.verify(token); // throws InvalidTokenError if expired
      await delay(20);
    }
    const requests = as.tokenRequests.length - before;
    // ~every second: refreshed several times, but cached in between (not once per call: ~150 calls were made)
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(requests).toBeLessThanOrEqual(6);
    // Every request's token was handed out, except possibly a background refresh still in flight (or just
    // landed) when the loop stopped.
    expect(requests - seen.size).toBeGreaterThanOrEqual(0);
    expect(requests - seen.size).toBeLessThanOrEqual(1);
  });
});

describe('clientCredentials against edge-case servers', () => {
  it('sends RFC 6749 §2.3.1 Basic credentials and a form body, and honours tokenEndpoint without discovery', async () => {
    const server = await startServer((_req, res) =>
      json(res, 200, { access_token: 'tok', token_type: 'bearer', expires_in: 3600 }),
    );
    try {
      const tokens = clientCredentials({
        tokenEndpoint: `${server.url}/oauth/token`,
        clientId: 'my client:1',
        clientSecret: SVC_SECRET,
        scope: 'a b',
        audience: API,
      });
      expect(await tokens.getToken()).toBe('tok');
      expect(server.requests).toHaveLength(1);
      const [req] = server.requests;
      expect(req!.method).toBe('POST');
      expect(req!.url).toBe('/oauth/token');
      const expected = Buffer.from('my+client%3A1:p%40ss+word%3A%2B%2F%25%7E').toString('base64');
      expect(req!.headers.authorization).toBe(`Basic ${expected}`);
      expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(req!.body).toBe('grant_type=client_credentials&scope=a+b&resource=https%3A%2F%2Fapi.example');
    } finally {
      await server.close();
    }
  });

  it('retries 503 with backoff, then succeeds through the proxy to oidc-provider', async () => {
    const as = await startAuthorizationServer();
    let calls = 0;
    const proxy = await startServer(async (req, res) => {
      calls++;
      if (calls <= 2) return json(res, 503, { error: 'temporarily_unavailable' });
      const upstream = await fetch(`${as.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: String(req.headers.authorization),
          'content-type': String(req.headers['content-type']),
        },
        body: req.body,
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    });
    try {
      const tokens = clientCredentials({
        tokenEndpoint: `${proxy.url}/token`,
        clientId: 'svc',
        clientSecret: SVC_SECRET,
        retry: FAST_RETRY,
      });
      const token = await tokens.getToken();
      expect(proxy.requests).toHaveLength(3);
      expect(as.tokenRequests).toHaveLength(1);
      expect(decodeJwt(token).client_id).toBe('svc');
    } finally {
      await proxy.close();
      await as.close();
    }
  });

  it('gives up after the configured retries on persistent 5xx and honours a capped Retry-After', async () => {
    const server = await startServer((_req, res) => json(res, 503, {}, { 'retry-after': '30' }));
    try {
      const tokens = clientCredentials({
        tokenEndpoint: `${server.url}/token`,
        clientId: 'c',
        clientSecret: 's',
        retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 50 },
      });
      const started = Date.now();
      const err = await tokens.getToken().catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1000); // Retry-After: 30 was capped at maxDelayMs
      expect(server.requests).toHaveLength(3);
      expect(err).toBeInstanceOf(UnexpectedResponseError);
      expect((err as UnexpectedResponseError).status).toBe(503);
    } finally {
      await server.close();
    }
  });

  it('does not retry a 4xx OAuth error and keeps error_uri', async () => {
    const server = await startServer((_req, res) =>
      json(res, 400, {
        error: 'invalid_scope',
        error_description: 'scope admin is not allowed',
        error_uri: 'https://docs.example/errors#invalid_scope',
      }),
    );
    try {
      const tokens = clientCredentials({
        tokenEndpoint: `${server.url}/token`,
        clientId: 'c',
        clientSecret: 's',
        scope: 'admin',
        retry: FAST_RETRY,
      });
      const err = (await tokens.getToken().catch((e: unknown) => e)) as OAuthError;
      expect(err).toBeInstanceOf(OAuthError);
      expect(server.requests).toHaveLength(1);
      expect(err).toMatchObject({
        error: 'invalid_scope',
        error_description: 'scope admin is not allowed',
        error_uri: 'https://docs.example/errors#invalid_scope',
        status: 400,
      });
    } finally {
      await server.close();
    }
  });

  it('reads invalid_client from WWW-Authenticate when the 401 body is not JSON', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="as", error="invalid_client"' });
      res.end('nope');
    });
    try {
      const tokens = clientCredentials({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' });
      const err = await tokens.getToken().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OAuthError);
      expect((err as OAuthError).error).toBe('invalid_client');
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('raises a distinct NetworkError when the server is unreachable, after retrying', async () => {
    const server = await startServer(() => undefined);
    const url = server.url;
    await server.close(); // nothing listens on this port any more
    let attempts = 0;
    const tokens = clientCredentials({
      tokenEndpoint: `${url}/token`,
      clientId: 'c',
      clientSecret: 's',
      retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 },
      fetch: (input, init) => {
        attempts++;
        return fetch(input, init);
      },
    });
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).not.toBeInstanceOf(OAuthError);
    expect((err as NetworkError).attempts).toBe(3);
    expect(attempts).toBe(3);
  });

  it('rejects a token response that is not a Bearer token', async () => {
    const server = await startServer((_req, res) =>
      json(res, 200, { access_token: 'x', token_type: 'DPoP' }),
    );
    try {
      const tokens = clientCredentials({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' });
      await expect(tokens.getToken()).rejects.toBeInstanceOf(UnexpectedResponseError);
    } finally {
      await server.close();
    }
  });

  it('rejects an expires_in that is an empty or non-numeric string, and takes a numeric one', async () => {
    let expiresIn: unknown = '';
    const server = await startServer((_req, res) =>
      json(res, 200, { access_token: 'x', token_type: 'Bearer', expires_in: expiresIn }),
    );
    try {
      for (const bad of ['', ' ', '1h', '-5', '0x10']) {
        expiresIn = bad;
        const tokens = clientCredentials({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' });
        const err = await tokens.getToken().catch((e: unknown) => e);
        expect(err, JSON.stringify(bad)).toBeInstanceOf(UnexpectedResponseError);
        expect(String((err as Error).message), JSON.stringify(bad)).toMatch(/invalid expires_in/);
      }
      expiresIn = '3600';
      const tokens = clientCredentials({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' });
      expect((await tokens.getTokenResponse()).expires_in).toBe(3600);
    } finally {
      await server.close();
    }
  });

  it('a tokenEndpoint that is not an http(s) URL is a TypeError at once, with no request', () => {
    for (const tokenEndpoint of [
      'auth.example.com/oauth/token',
      'ftp://auth.example.com/token',
      '/oauth/token',
    ])
      expect(
        () => clientCredentials({ tokenEndpoint, clientId: 'c', clientSecret: 's' }),
        tokenEndpoint,
      ).toThrow(/tokenEndpoint must be an absolute http\(s\) URL/);
  });

  it('a failed refresh is not cached: the next call tries again', async () => {
    let calls = 0;
    const server = await startServer((_req, res) =>
      ++calls === 1
        ? json(res, 400, { error: 'invalid_request' })
        : json(res, 200, { access_token: 'ok', token_type: 'Bearer', expires_in: 60 }),
    );
    try {
      const tokens = clientCredentials({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' });
      await expect(tokens.getToken()).rejects.toBeInstanceOf(OAuthError);
      expect(await tokens.getToken()).toBe('ok');
    } finally {
      await server.close();
    }
  });
});
