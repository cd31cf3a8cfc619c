import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizedFetch, clientCredentials, type TokenSource } from '../src/index.js';
import { json, startServer, type TestServer } from './helpers.js';

/** Token server issuing tok-1, tok-2, ... (valid for an hour). */
async function startTokenServer() {
  let n = 0;
  return startServer((_req, res) =>
    json(res, 200, { access_token: `tok-${++n}`, token_type: 'Bearer', expires_in: 3600 }),
  );
}

describe('authorizedFetch', () => {
  let tokenServer: TestServer;
  let tokens: TokenSource;
  beforeEach(async () => {
    tokenServer = await startTokenServer();
    tokens = clientCredentials({
      tokenEndpoint: `${tokenServer.url}/token`,
      clientId: 'c',
      clientSecret: 's',
    });
  });
  afterEach(() => tokenServer.close());

  it('sends Authorization: Bearer plus default headers; per-request headers override defaults', async () => {
    const api = await startServer((_req, res) => json(res, 200, { ok: true }));
    try {
      const call = authorizedFetch(tokens, { headers: { 'x-api-key': 'MY_API_KEY', 'x-env': 'default' } });
      const res = await call(`${api.url}/data`, { headers: { 'x-env': 'override' } });
      expect(res.status).toBe(200);
      expect(api.requests[0]!.headers).toMatchObject({
        authorization: 'Bearer tok-1',
        'x-api-key': 'MY_API_KEY',
        'x-env': 'override',
      });
      await call(`${api.url}/data`);
      expect(api.requests[1]!.headers.authorization).toBe('Bearer tok-1'); // cached
      expect(tokenServer.requests).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it('on 401 error="invalid_token": invalidates, fetches a new token and retries exactly once, replaying the body', async () => {
    const api = await startServer((req, res) => {
      if (req.headers.authorization === 'Bearer tok-1') {
        res.writeHead(401, {
          'www-authenticate':
            'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
        });
        return res.end();
      }
      json(res, 200, { echoed: req.body });
    });
    try {
      const call = authorizedFetch(tokens, { headers: { 'x-api-key': 'MY_API_KEY' } });
      const res = await call(`${api.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'A-1' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ echoed: '{"sku":"A-1"}' });
      expect(api.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
      expect(api.requests.map((r) => r.body)).toEqual(['{"sku":"A-1"}', '{"sku":"A-1"}']);
      expect(api.requests[1]!.headers['x-api-key']).toBe('MY_API_KEY');
      expect(tokenServer.requests).toHaveLength(2);
    } finally {
      await api.close();
    }
  });

  it('retries only once: a second invalid_token 401 is returned to the caller', async () => {
    const api = await startServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end();
    });
    try {
      const res = await authorizedFetch(tokens)(`${api.url}/x`);
      expect(res.status).toBe(401);
      expect(api.requests).toHaveLength(2);
      expect(tokenServer.requests).toHaveLength(2);
    } finally {
      await api.close();
    }
  });

  it('does not retry a 401 without error="invalid_token", nor a 403', async () => {
    const api = await startServer((req, res) => {
      if (req.url === '/no-error') res.writeHead(401, { 'www-authenticate': 'Bearer realm="api"' });
      else if (req.url === '/other')
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x", error="invalid_token"' });
      else res.writeHead(403, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' });
      res.end();
    });
    try {
      const call = authorizedFetch(tokens);
      expect((await call(`${api.url}/no-error`)).status).toBe(401);
      expect((await call(`${api.url}/other`)).status).toBe(401);
      expect((await call(`${api.url}/forbidden`)).status).toBe(403);
      expect(api.requests).toHaveLength(3);
      expect(tokenServer.requests).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it('does not retry a request whose body is a stream (it cannot be replayed)', async () => {
    const api = await startServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end();
    });
    try {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed'));
          controller.close();
        },
      });
      const res = await authorizedFetch(tokens)(`${api.url}/upload`, {
        method: 'POST',
        body,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(401);
      expect(api.requests).toHaveLength(1);
      expect(api.requests[0]!.body).toBe('streamed');
    } finally {
      await api.close();
    }
  });

  it('replays Uint8Array bodies and keeps the headers of a Request input', async () => {
    const api = await startServer((req, res) => {
      // odd-numbered tokens are rejected
      if (Number(String(req.headers.authorization).split('-')[1]) % 2 === 1) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return res.end();
      }
      json(res, 200, { body: req.body, custom: req.headers['x-custom'] ?? null });
    });
    try {
      const call = authorizedFetch(tokens);
      const bytes = await call(`${api.url}/bytes`, { method: 'PUT', body: new TextEncoder().encode('bin') });
      expect(await bytes.json()).toEqual({ body: 'bin', custom: null });

      tokens.invalidate();
      const viaRequest = await call(new Request(`${api.url}/req`, { headers: { 'x-custom': 'yes' } }));
      expect(viaRequest.status).toBe(200);
      expect(await viaRequest.json()).toEqual({ body: '', custom: 'yes' });
      expect(api.requests.map((r) => `${r.url} ${r.headers.authorization}`)).toEqual([
        '/bytes Bearer tok-1',
        '/bytes Bearer tok-2',
        '/req Bearer tok-3',
        '/req Bearer tok-4',
      ]);
    } finally {
      await api.close();
    }
  });

  it('many concurrent requests failing with the same stale token cause a single token refresh', async () => {
    const api = await startServer((req, res) => {
      if (req.headers.authorization === 'Bearer tok-1') {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return res.end();
      }
      json(res, 200, {});
    });
    try {
      const call = authorizedFetch(tokens);
      await tokens.getToken(); // tok-1 cached
      const results = await Promise.all(Array.from({ length: 20 }, () => call(`${api.url}/x`)));
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(tokenServer.requests).toHaveLength(2);
      expect(api.requests).toHaveLength(40);
    } finally {
      await api.close();
    }
  });
});
