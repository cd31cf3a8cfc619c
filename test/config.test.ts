import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { ensureSecretKey } from '../src/config/secret-key.js';

const KEY = 'x'.repeat(43);

describe('configuration', () => {
  it('has working defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clavis-cfg-'));
    const c = loadConfig({ CLAVIS_DATABASE_URL: `sqlite:${dir}/clavis.db` });
    expect(c.issuer).toBe('http://localhost:8080');
    expect(c.port).toBe(8080);
    expect(c.accessTokenTtl).toBe(3600);
    expect(c.signingAlg).toBe('ES256');
    expect(c.apiAudience).toBe('http://localhost:8080/api');
    expect(c.database).toEqual({ kind: 'sqlite', path: `${dir}/clavis.db` });
  });

  it('reading the environment creates nothing: a missing key is reported, and a bad key file is named', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'clavis-cfg-')), 'not-yet');
    const c = loadConfig({ CLAVIS_DATABASE_URL: `sqlite:${dir}/clavis.db` });
    expect(c.secretKeySource).toBe('missing');
    expect(c.secretKeyFile).toBe(join(dir, 'secret.key'));
    expect(existsSync(dir)).toBe(false);
    const bad = mkdtempSync(join(tmpdir(), 'clavis-cfg-'));
    writeFileSync(join(bad, 'secret.key'), 'short\n');
    expect(() => loadConfig({ CLAVIS_DATABASE_URL: `sqlite:${bad}/clavis.db` })).toThrow(
      expect.objectContaining({ variable: join(bad, 'secret.key') }),
    );
  });

  it('generates a secret key on first start, keeps it with mode 0600 and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clavis-cfg-'));
    const first = ensureSecretKey(loadConfig({ CLAVIS_DATABASE_URL: `sqlite:${dir}/clavis.db` }));
    expect(first.secretKeySource).toBe('generated');
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    const second = loadConfig({ CLAVIS_DATABASE_URL: `sqlite:${dir}/clavis.db` });
    expect(second.secretKeySource).toBe('file');
    expect(second.secretKey.equals(first.secretKey)).toBe(true);
    expect(readFileSync(join(dir, 'secret.key'), 'utf8').trim().length).toBeGreaterThan(40);
  });

  it('listens on loopback for the quick start (no CLAVIS_ISSUER), on every interface behind an issuer, or on HOST', () => {
    const base = { CLAVIS_SECRET_KEY: KEY, CLAVIS_DATABASE_URL: 'sqlite::memory:' };
    expect(loadConfig(base).host).toBe('127.0.0.1');
    expect(loadConfig({ ...base, CLAVIS_ISSUER: 'https://id.example.com' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...base, HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...base, CLAVIS_ISSUER: 'https://id.example.com', HOST: '10.0.0.5' }).host).toBe(
      '10.0.0.5',
    );
  });

  it('reads CLAVIS_TRUST_PROXY into the configuration, refusing values that are not true or false', () => {
    const base = { CLAVIS_SECRET_KEY: KEY, CLAVIS_DATABASE_URL: 'sqlite::memory:' };
    expect(loadConfig(base).trustProxy).toBe(false);
    expect(loadConfig({ ...base, CLAVIS_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(() => loadConfig({ ...base, CLAVIS_TRUST_PROXY: 'maybe' })).toThrow(/CLAVIS_TRUST_PROXY/);
  });

  it('reads CLAVIS_PURGE_INTERVAL in seconds (default 60), refusing values that are not whole seconds from 1', () => {
    const base = { CLAVIS_SECRET_KEY: KEY, CLAVIS_DATABASE_URL: 'sqlite::memory:' };
    expect(loadConfig(base).purgeIntervalSec).toBe(60);
    expect(loadConfig({ ...base, CLAVIS_PURGE_INTERVAL: '2' }).purgeIntervalSec).toBe(2);
    expect(() => loadConfig({ ...base, CLAVIS_PURGE_INTERVAL: '0' })).toThrow(/CLAVIS_PURGE_INTERVAL/);
    expect(() => loadConfig({ ...base, CLAVIS_PURGE_INTERVAL: '1.5' })).toThrow(/CLAVIS_PURGE_INTERVAL/);
  });

  it('falls back to DATABASE_URL', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@h/db', CLAVIS_SECRET_KEY: KEY });
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['CLAVIS_ISSUER', { CLAVIS_ISSUER: 'not a url' }],
    ['CLAVIS_ISSUER', { CLAVIS_ISSUER: 'https://a.example/?x=1' }],
    ['CLAVIS_ISSUER', { CLAVIS_ISSUER: 'ftp://a.example' }],
    ['CLAVIS_DATABASE_URL', { CLAVIS_DATABASE_URL: 'mysql://x' }],
    ['DATABASE_URL', { CLAVIS_DATABASE_URL: undefined, DATABASE_URL: 'mysql://x' }],
    ['CLAVIS_SECRET_KEY', { CLAVIS_SECRET_KEY: 'short' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['CLAVIS_SIGNING_ALG', { CLAVIS_SIGNING_ALG: 'HS256' }],
    ['CLAVIS_ACCESS_TOKEN_TTL', { CLAVIS_ACCESS_TOKEN_TTL: '0' }],
    ['CLAVIS_SIGNUP_ENABLED', { CLAVIS_SIGNUP_ENABLED: 'maybe' }],
  ])('rejects a bad %s with a message naming it', (name, env) => {
    const run = () => loadConfig({ CLAVIS_SECRET_KEY: KEY, CLAVIS_DATABASE_URL: 'sqlite::memory:', ...env });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(new RegExp(`^${name}:`));
  });
});
