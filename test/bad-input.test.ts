import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, createTestApp, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let auth: string;
let clientId: string;
let secret: string;
beforeAll(async () => {
  ts = await startTestServer();
  const created = await createTestApp(ts);
  clientId = created.app.client_id;
  secret = created.secret!;
  auth = basicAuth(clientId, secret);
});
afterAll(async () => ts?.close());

async function raw(path: string, init: RequestInit & { headers?: Record<string, string> }) {
  const res = await fetch(`${ts.url}${path}`, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

const FORM = 'application/x-www-form-urlencoded';

/** Each case: [name, request]. Every one must get a 4xx with an RFC 6749 error body, never a 5xx. */
type Init = RequestInit & { headers?: Record<string, string> };
/** Built lazily: the client's credentials exist only once beforeAll has run. */
function cases(path: string): Array<[string, () => Init, string]> {
  const body = path === '/oauth/token' ? 'grant_type=client_credentials' : 'token=abc';
  return [
    [
      'repeated parameter',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `${body}&${body}`,
      }),
      'invalid_request',
    ],
    [
      'repeated empty parameter',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `${body}&scope=&scope=x`,
      }),
      'invalid_request',
    ],
    [
      'JSON content type',
      () => ({
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: '{"grant_type":"client_credentials"}',
      }),
      'invalid_request',
    ],
    [
      'broken JSON',
      () => ({
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: '{"grant_type":',
      }),
      'invalid_request',
    ],
    [
      'text/plain',
      () => ({ method: 'POST', headers: { 'content-type': 'text/plain', authorization: auth }, body }),
      'invalid_request',
    ],
    [
      'unknown content type',
      () => ({
        method: 'POST',
        headers: { 'content-type': 'application/xml', authorization: auth },
        body: '<x/>',
      }),
      'invalid_request',
    ],
    [
      'multipart',
      () => ({
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x', authorization: auth },
        body: '--x--',
      }),
      'invalid_request',
    ],
    [
      'no content type, no body',
      () => ({ method: 'POST', headers: { authorization: auth } }),
      'invalid_request',
    ],
    [
      'broken percent-encoding',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `${body}&scope=%E0%A4%A`,
      }),
      'invalid_request',
    ],
    [
      'invalid UTF-8',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `${body}&scope=%FF%FE`,
      }),
      'invalid_request',
    ],
    [
      'oversized body',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `${body}&pad=${'x'.repeat(300_000)}`,
      }),
      'invalid_request',
    ],
    [
      'parameters in the query string',
      () => ({ method: 'POST', headers: { 'content-type': FORM, authorization: auth }, body }),
      'invalid_request',
    ],
    [
      'garbage Basic',
      () => ({ method: 'POST', headers: { 'content-type': FORM, authorization: 'Basic !!!!' }, body }),
      'invalid_client',
    ],
    [
      'Basic without colon',
      () => ({
        method: 'POST',
        headers: {
          'content-type': FORM,
          authorization: `Basic ${Buffer.from('justanid').toString('base64')}`,
        },
        body,
      }),
      'invalid_client',
    ],
    [
      'Bearer instead of Basic',
      () => ({ method: 'POST', headers: { 'content-type': FORM, authorization: 'Bearer abc' }, body }),
      'invalid_client',
    ],
    [
      'huge client_id',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM },
        body: `${body}&client_id=${'a'.repeat(5000)}&client_secret=x`,
      }),
      'invalid_client',
    ],
    [
      'NUL bytes',
      () => ({
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `${body}&scope=%00%00`,
      }),
      path === '/oauth/token' ? 'invalid_scope' : '',
    ],
    [
      'client_secret without client_id',
      () => ({ method: 'POST', headers: { 'content-type': FORM }, body: `${body}&client_secret=x` }),
      'invalid_request',
    ],
  ];
}

describe.each(['/oauth/token', '/oauth/introspect', '/oauth/revoke'])('bad input at %s', (path) => {
  it.each(cases(path))('%s gives a 4xx RFC 6749 error body', async (name, init, error) => {
    const url = name === 'parameters in the query string' ? `${path}?client_secret=${secret}` : path;
    const r = await raw(url, init());
    if (error === '') {
      expect(r.status).toBeLessThan(500);
      return;
    }
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.json?.error, r.text).toBe(error);
    expect(typeof r.json.error_description).toBe('string');
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s gives 405 with an error body', async (method) => {
    const r = await raw(path, { method });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect(r.json.error).toBe('invalid_request');
  });
});

describe('token endpoint specifics', () => {
  it('requires grant_type', async () => {
    const r = await raw('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: auth },
      body: 'scope=x',
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_request');
  });

  it('accepts a charset parameter on the content type', async () => {
    const r = await raw('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', authorization: auth },
      body: 'grant_type=client_credentials',
    });
    expect(r.status).toBe(200);
  });

  it('treats a parameter sent without a value as omitted (RFC 6749 §3.1)', async () => {
    const r = await raw('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: auth },
      body: 'grant_type=client_credentials&scope=',
    });
    expect(r.status).toBe(200);
    expect(r.json.scope).toBe('contacts:read');
  });

  it('does not echo the secret from a query string in the error', async () => {
    const r = await raw(`/oauth/token?client_secret=${secret}`, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: auth },
      body: 'grant_type=client_credentials',
    });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain(secret);
  });

  it('still works after all the bad requests (nothing stored was lost)', async () => {
    const r = await raw('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: auth },
      body: 'grant_type=client_credentials',
    });
    expect(r.status).toBe(200);
  });
});

describe('introspection and revocation parameters', () => {
  it.each(['/oauth/introspect', '/oauth/revoke'])('%s requires the token parameter', async (path) => {
    const r = await raw(path, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: auth },
      body: 'token_type_hint=access_token',
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('invalid_request');
  });

  it.each(['/oauth/introspect', '/oauth/revoke'])('%s requires client authentication', async (path) => {
    const r = await raw(path, { method: 'POST', headers: { 'content-type': FORM }, body: 'token=abc' });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
  });

  it('introspection of malformed tokens is simply inactive', async () => {
    for (const token of ['abc', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', 'x'.repeat(10_000)]) {
      const r = await raw('/oauth/introspect', {
        method: 'POST',
        headers: { 'content-type': FORM, authorization: auth },
        body: `token=${token}`,
      });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ active: false });
    }
  });
});

describe('review mends, stop 28', () => {
  const strict = (h: Headers) => {
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('x-frame-options')).toBe('DENY');
    expect(h.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  };

  it.each([
    ['/apps/%ff', 400],
    ['/api/v1/apps/%E0%A4%A', 400],
    [`/api/v1/apps/${'x'.repeat(1000)}`, 414],
  ])('a URL the router cannot take (%s) gets a problem with the strict headers', async (path, status) => {
    const r = await raw(path, {});
    expect(r.status, r.text).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.json.detail).toMatch(/URL/);
    expect(r.text).not.toContain('FST_ERR');
    expect(r.text).not.toContain('xxxx');
    strict(r.headers);
  });

  it('a browser gets a page for such a URL, an OAuth client an RFC 6749 body', async () => {
    const page = await raw(`/apps/${'x'.repeat(1000)}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(414);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('A part of the URL is too long.');
    strict(page.headers);
    const oauth = await raw('/oauth/%ff', { method: 'POST' });
    expect(oauth.status).toBe(400);
    expect(oauth.json.error).toBe('invalid_request');
    expect(oauth.headers.get('cache-control')).toBe('no-store');
    strict(oauth.headers);
  });

  it.each([
    ['beside HTTP Basic', true],
    ['alone', false],
  ])('a client assertion %s is refused, not ignored (RFC 6749 §2.3)', async (_name, withBasic) => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln',
      ...(withBasic ? {} : { client_id: clientId }),
    });
    const r = await raw('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': FORM, ...(withBasic ? { authorization: auth } : {}) },
      body: body.toString(),
    });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('invalid_client');
    expect(r.json.error_description).toMatch(/assertion/i);
  });
});
