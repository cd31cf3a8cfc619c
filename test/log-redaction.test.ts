import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions, redactUrl } from '../src/http/logging.js';
import { LogCapture, startTestServer, type TestServer } from './helpers/server.js';

const authorizeUrl =
  '/oauth/authorize?response_type=code&client_id=app1&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&code=SECRETCODE1&state=SECRETSTATE1';

describe('redactUrl', () => {
  it('redacts sensitive parameters in the query and the fragment', () => {
    expect(redactUrl('/cb?code=abc&x=1&state=s')).toBe('/cb?code=[redacted]&x=1&state=[redacted]');
    expect(redactUrl('https://app.test/cb#access_token=abc&token_type=Bearer')).toBe(
      'https://app.test/cb#access_token=[redacted]&token_type=Bearer',
    );
    expect(redactUrl('/x?%63ode=abc')).toBe('/x?%63ode=[redacted]');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
    // The device grant's verification_uri_complete carries the user code (RFC 8628 §3.3.1).
    expect(redactUrl('/device?user_code=BCDF-GHJK')).toBe('/device?user_code=[redacted]');
  });

  it('redacts inside a URL encoded in another parameter, at any nesting', () => {
    const once = `/login?return_to=${encodeURIComponent(authorizeUrl)}&lang=en`;
    const out = redactUrl(once);
    expect(out).not.toContain('SECRETCODE1');
    expect(out).not.toContain('SECRETSTATE1');
    expect(out).toContain('lang=en');
    const decoded = decodeURIComponent(out.slice('/login?return_to='.length).split('&lang')[0]!);
    expect(decoded).toContain('client_id=app1');
    expect(decoded).toContain('code=[redacted]');
    const twice = `/x?next=${encodeURIComponent(`/login?return_to=${encodeURIComponent(authorizeUrl)}`)}`;
    expect(redactUrl(twice)).not.toMatch(/SECRET/);
    expect(redactUrl(`/x?redirect=${encodeURIComponent('https://a.test/cb?code=SECRETCODE2')}`)).not.toMatch(
      /SECRET/,
    );
  });

  it('redacts values shaped like a JWT under any name', () => {
    expect(redactUrl('/x?hint=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&y=2')).toBe('/x?hint=[redacted]&y=2');
  });

  it('survives malformed escapes', () => {
    expect(redactUrl('/x?a=%E0%A4%A&code=1')).toBe('/x?a=%E0%A4%A&code=[redacted]');
  });
});

describe('error codes in the log', () => {
  it('keeps err.code (database error codes) while redacting credentials', () => {
    const capture = new LogCapture();
    const log = pino(loggerOptions('info', capture) as pino.LoggerOptions, capture);
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    log.error({ err, body: { password: 'hunter2', client_secret: 'cs' } }, 'database unavailable');
    const line = JSON.parse(capture.lines[0]!);
    expect(line.err.code).toBe('ECONNREFUSED');
    expect(capture.text()).not.toContain('hunter2');
    expect(capture.text()).not.toContain('"cs"');
  });
});

describe('request log lines', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ logLevel: 'debug' });
  });
  afterAll(async () => ts?.close());

  it('never carry the code or state of an authorization URL inside return_to', async () => {
    await fetch(`${ts.url}/login?return_to=${encodeURIComponent(authorizeUrl)}`);
    await fetch(`${ts.url}/login?return_to=${encodeURIComponent(authorizeUrl)}`, { redirect: 'manual' });
    const text = ts.logs.text();
    expect(text).toContain('/login?return_to=');
    expect(text).not.toContain('SECRETCODE1');
    expect(text).not.toContain('SECRETSTATE1');
  });
});
