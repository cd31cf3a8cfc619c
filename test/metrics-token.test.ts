import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { bearerMatches } from '../src/http/metrics.js';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('/metrics restricted with CLAVIS_METRICS_TOKEN', () => {
  let ts: TestServer;
  const token = 'metrics-token-0123456789';
  beforeAll(async () => {
    ts = await startTestServer({ env: { CLAVIS_METRICS_TOKEN: token } });
  });
  afterAll(async () => ts?.close());

  it('answers 401 without the token or with a wrong one', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${token}x`,
      `Basic ${token}`,
      'Bearer ',
      `Bearer ${token.slice(1)}`,
    ]) {
      const res = await fetch(`${ts.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain('clavis_http_request_duration_seconds');
    }
  });

  it('serves the metrics with the token', async () => {
    const res = await fetch(`${ts.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('clavis_http_request_duration_seconds');
  });
});

describe('/metrics without CLAVIS_METRICS_TOKEN', () => {
  it('stays open, as before', async () => {
    const ts = await startTestServer();
    try {
      expect((await fetch(`${ts.url}/metrics`)).status).toBe(200);
    } finally {
      await ts.close();
    }
  });
});

describe('bearerMatches', () => {
  it('compares the whole token', () => {
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('Bearer abcd', 'abc')).toBe(false);
    expect(bearerMatches('Bearer ab', 'abc')).toBe(false);
    expect(bearerMatches(undefined, 'abc')).toBe(false);
    expect(bearerMatches('abc', 'abc')).toBe(false);
  });
  it('is read from the environment', () => {
    expect(
      loadConfig({ CLAVIS_METRICS_TOKEN: 's3cret', CLAVIS_SECRET_KEY: 'a'.repeat(43) }).metricsToken,
    ).toBe('s3cret');
  });
});
