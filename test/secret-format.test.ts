import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../src/crypto/crc32.js';
import { BASE62, randomBase62 } from '../src/crypto/random.js';
import {
  checkSecretFormat,
  generateSecretValue,
  SECRET_FORMAT,
  SECRET_LENGTH,
  SECRET_SCAN_PATTERN,
} from '../src/domain/secret-issuance.js';
import { addSecret } from '../src/domain/secrets.js';
import { secretWorks } from './helpers/api.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

/** The base62 checksum as the README describes it, computed independently of the implementation. */
function readmeChecksum(body: string): string {
  const n = typeof zlib.crc32 === 'function' ? zlib.crc32(body) : crc32(body);
  return toBase62(n).padStart(6, '0');
}
function toBase62(n: number): string {
  let s = '';
  do {
    s = BASE62[n % 62] + s;
    n = Math.floor(n / 62);
  } while (n > 0);
  return s;
}

describe('the identifiable secret format', () => {
  it('is hint (3 random) + _clavis_ + 43 random base62 + 6-character CRC-32 checksum', () => {
    for (let i = 0; i < 200; i++) {
      const v = generateSecretValue();
      expect(v).toHaveLength(SECRET_LENGTH);
      expect(v).toHaveLength(60);
      expect(v).toMatch(SECRET_FORMAT);
      expect(v.slice(3, 11)).toBe('_clavis_');
      expect(v.slice(54)).toBe(readmeChecksum(v.slice(0, 54)));
      expect(checkSecretFormat(v)).toBe('valid');
      // Unreserved characters only: form-encoding (RFC 6749 §2.3.1) leaves it unchanged.
      expect(encodeURIComponent(v)).toBe(v);
      expect(new URLSearchParams({ s: v }).toString()).toBe(`s=${v}`);
    }
  });

  it('carries at least 256 random bits and random hints', () => {
    expect(43 * Math.log2(62)).toBeGreaterThanOrEqual(256);
    const values = Array.from({ length: 400 }, generateSecretValue);
    expect(new Set(values).size).toBe(400);
    // 62^3 possible hints: 400 secrets share few; a fixed prefix would give 1.
    expect(new Set(values.map((v) => v.slice(0, 3))).size).toBeGreaterThan(380);
    // Every base62 character appears in the random part (uniform sampling, not base64 with two dropped).
    const seen = new Set(values.flatMap((v) => [...v.slice(11, 54)]));
    expect(seen.size).toBe(62);
  });

  it('our CRC-32 equals zlib', () => {
    for (const s of ['', 'a', 'Xq3_clavis_abc', randomBytes(40).toString('base64url')])
      if (typeof zlib.crc32 === 'function') expect(crc32(s)).toBe(zlib.crc32(s));
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('tells a wrong checksum, and leaves other values alone', () => {
    const v = generateSecretValue();
    // One character changed anywhere: the checksum no longer matches.
    for (const at of [0, 2, 20, 53, 55, 59]) {
      const c = v[at] === 'a' ? 'b' : 'a';
      expect(checkSecretFormat(v.slice(0, at) + c + v.slice(at + 1))).toBe('bad_checksum');
    }
    expect(checkSecretFormat(randomBytes(32).toString('base64url'))).toBe('other');
    expect(checkSecretFormat(`${v}x`)).toBe('other');
    expect(checkSecretFormat(v.replace('_clavis_', '_clavix_'))).toBe('other');
    expect(checkSecretFormat('')).toBe('other');
  });

  it('the scan pattern finds secrets in text and nothing else', () => {
    const a = generateSecretValue();
    const b = generateSecretValue();
    const text = `CLIENT_SECRET=${a}\nconst other = "${b}"; // not: x${a.slice(1)}y, ${randomBytes(32).toString('base64url')}`;
    expect([...text.matchAll(SECRET_SCAN_PATTERN)].map((m) => m[0])).toEqual([a, b]);
  });

  it('randomBase62 draws from all 62 characters', () => {
    const s = randomBase62(5000);
    expect(s).toMatch(/^[0-9A-Za-z]{5000}$/);
    expect(new Set(s).size).toBe(62);
  });

  it('the README documents the same regular expression', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(SECRET_SCAN_PATTERN.source);
  });
});

describe('secrets of every format authenticate', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(async () => ts?.close());

  it('a new secret works raw and form-encoded, at the token endpoint', async () => {
    const { app, secret } = await createTestApp(ts);
    expect(checkSecretFormat(secret!)).toBe('valid');
    expect(await secretWorks(ts, app.client_id, secret!)).toBe(true);
    const raw = `Basic ${Buffer.from(`${app.client_id}:${secret}`).toString('base64')}`;
    const r = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: raw },
    );
    expect(r.status).toBe(200);
    const post = await postForm(`${ts.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: app.client_id,
      client_secret: secret!,
    });
    expect(post.status).toBe(200);
  });

  it('secrets issued before the format (43 base64url characters) keep working', async () => {
    const { app } = await createTestApp(ts);
    const old = randomBytes(32).toString('base64url');
    const created = await addSecret(ts.server.services.ctx, await adminActor(ts), app.id, { value: old });
    expect(created.hint).toBe(old.slice(0, 3));
    expect(checkSecretFormat(old)).toBe('other');
    expect(await secretWorks(ts, app.client_id, old)).toBe(true);
    // The bootstrap client's operator-chosen secret (also base64url) works as before.
    expect(await secretWorks(ts, ts.bootstrapClient.id, ts.bootstrapClient.secret)).toBe(true);
  });

  it('a value with a wrong checksum fails like any wrong secret', async () => {
    const { app, secret } = await createTestApp(ts);
    const bad = `${secret!.slice(0, 59)}${secret![59] === 'a' ? 'b' : 'a'}`;
    const r = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, bad) },
    );
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
  });
});
