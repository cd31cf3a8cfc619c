import { describe, expect, it } from 'vitest';
import { backoffDelay, resolveRetry } from '../src/backoff.js';
import {
  bearerChallenge,
  DiscoveryError,
  discover,
  extractBearerToken,
  formUrlEncode,
  generateCodeVerifier,
  parseWwwAuthenticate,
  wellKnownUrls,
} from '../src/index.js';
import { json, startServer } from './helpers.js';

describe('backoffDelay (full jitter, capped)', () => {
  it('stays within [0, min(max, base·2^n)]', () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(0);
    expect(backoffDelay(0, opts, () => 0.999)).toBe(99);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(200);
    expect(backoffDelay(10, opts, () => 0.999)).toBe(999);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, opts);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('resolves defaults and clamps nonsense', () => {
    expect(resolveRetry()).toEqual({ retries: 3, baseDelayMs: 200, maxDelayMs: 5000 });
    expect(resolveRetry({ retries: -1, baseDelayMs: Number.NaN })).toEqual({
      retries: 0,
      baseDelayMs: 200,
      maxDelayMs: 5000,
    });
  });
});

describe('WWW-Authenticate', () => {
  it('parses several challenges, quoted values with escapes, and token68', () => {
    expect(
      parseWwwAuthenticate(
        'Basic realm="as", Bearer realm="api", error="invalid_token", error_description="say \\"hi\\", ok", Negotiate abc==',
      ),
    ).toEqual([
      { scheme: 'Basic', params: { realm: 'as' } },
      {
        scheme: 'Bearer',
        params: { realm: 'api', error: 'invalid_token', error_description: 'say "hi", ok' },
      },
      { scheme: 'Negotiate', params: {}, token68: 'abc==' },
    ]);
    expect(parseWwwAuthenticate('Bearer error=invalid_token, scope="a b"')).toEqual([
      { scheme: 'Bearer', params: { error: 'invalid_token', scope: 'a b' } },
    ]);
    expect(parseWwwAuthenticate('Bearer')).toEqual([{ scheme: 'Bearer', params: {} }]);
  });

  it('builds RFC 6750 challenges and strips characters not allowed in quoted values', () => {
    expect(bearerChallenge({ realm: 'api' })).toBe('Bearer realm="api"');
    expect(
      bearerChallenge({
        realm: 'api',
        error: 'insufficient_scope',
        error_description: 'needs "x"\n',
        scope: 'a b',
      }),
    ).toBe('Bearer realm="api", error="insufficient_scope", error_description="needs x", scope="a b"');
  });

  it('extracts bearer tokens strictly', () => {
    expect(extractBearerToken('Bearer abc.def-ghi_~+/=')).toBe('abc.def-ghi_~+/=');
    expect(extractBearerToken('BEARER  tok')).toBe('tok');
    expect(extractBearerToken('Bearer')).toBeUndefined();
    expect(extractBearerToken('Bearer a b')).toBeUndefined();
    expect(extractBearerToken('Basic abc')).toBeUndefined();
    expect(extractBearerToken(['Bearer a', 'Bearer b'])).toBeUndefined();
    expect(extractBearerToken(undefined)).toBeUndefined();
  });
});

describe('encoding and PKCE helpers', () => {
  it('form-url-encodes like application/x-www-form-urlencoded', () => {
    expect(formUrlEncode('a b+c:d/e%f')).toBe('a+b%2Bc%3Ad%2Fe%25f');
  });

  it('generates verifiers of the requested length and refuses out-of-range lengths', () => {
    expect(generateCodeVerifier(43)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateCodeVerifier(128)).toHaveLength(128);
    expect(() => generateCodeVerifier(42)).toThrow(RangeError);
    expect(() => generateCodeVerifier(129)).toThrow(RangeError);
  });
});

describe('discovery', () => {
  it('inserts the RFC 8414 well-known segment before the issuer path; OIDC appends it', () => {
    expect(wellKnownUrls('https://as.example/tenant/').map(String)).toEqual([
      'https://as.example/.well-known/oauth-authorization-server/tenant',
      'https://as.example/tenant/.well-known/openid-configuration',
    ]);
    expect(wellKnownUrls('https://as.example').map(String)).toEqual([
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ]);
    expect(() => wellKnownUrls('https://as.example/?x=1')).toThrow(DiscoveryError);
  });

  it('falls back to openid-configuration when the RFC 8414 URL answers 404 (issuer with a path)', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/realms/main/.well-known/openid-configuration') {
        return json(res, 200, { issuer: `${server.url}/realms/main`, token_endpoint: `${server.url}/t` });
      }
      json(res, 404, { error: 'not_found' });
    });
    try {
      const metadata = await discover(`${server.url}/realms/main`);
      expect(metadata.token_endpoint).toBe(`${server.url}/t`);
      expect(server.requests.map((r) => r.url)).toEqual([
        '/.well-known/oauth-authorization-server/realms/main',
        '/realms/main/.well-known/openid-configuration',
      ]);
    } finally {
      await server.close();
    }
  });

  it('rejects metadata whose issuer differs from the configured one (RFC 8414 §3.3)', async () => {
    const server = await startServer((_req, res) => json(res, 200, { issuer: 'https://evil.example' }));
    try {
      const err = await discover(server.url).catch((e) => e);
      expect(err).toBeInstanceOf(DiscoveryError);
      expect(err.message).toMatch(/evil\.example/);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('fails with DiscoveryError when neither document exists', async () => {
    const server = await startServer((_req, res) => json(res, 404, {}));
    try {
      await expect(discover(server.url)).rejects.toBeInstanceOf(DiscoveryError);
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
