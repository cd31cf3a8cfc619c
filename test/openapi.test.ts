import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => ts?.close());

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

async function document(): Promise<any> {
  const r = await fetch(`${ts.url}/api/openapi.json`);
  expect(r.status).toBe(200);
  return r.json();
}

describe('OpenAPI document', () => {
  it('gives every operation a unique operationId', async () => {
    const doc = await document();
    const ids: string[] = [];
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths))
      for (const m of METHODS)
        if (item[m]) {
          expect(item[m].operationId, `${m} ${path}`).toMatch(/^[a-z][A-Za-z0-9]+$/);
          ids.push(item[m].operationId);
        }
    expect(ids.length).toBeGreaterThan(30);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes the OAuth endpoints under their own tag, and /api/v1/me', async () => {
    const doc = await document();
    expect(doc.info.title).toBe('Clavis API');
    expect(doc.tags.map((t: { name: string }) => t.name)).toContain('OAuth 2.0');
    const oauth: Record<string, string> = {
      '/oauth/token': 'post',
      '/oauth/authorize': 'get',
      '/oauth/revoke': 'post',
      '/oauth/introspect': 'post',
      '/.well-known/oauth-authorization-server': 'get',
      '/.well-known/openid-configuration': 'get',
      '/.well-known/jwks.json': 'get',
    };
    for (const [path, m] of Object.entries(oauth)) {
      const op = doc.paths[path]?.[m];
      expect(op, `${m} ${path}`).toBeTruthy();
      expect(op.tags).toEqual(['OAuth 2.0']);
      expect(Object.keys(op.responses)).toContain('200');
    }
    expect(doc.paths['/oauth/token'].post.requestBody.content).toHaveProperty(
      'application/x-www-form-urlencoded',
    );
    expect(doc.paths['/oauth/token'].post.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/TokenResponse',
    );
    const me = doc.paths['/api/v1/me']?.get;
    expect(me?.operationId).toBe('getMe');
    expect(me.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/Me');
    // Every local $ref resolves.
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const r of refs) expect(doc.components.schemas[r.slice(22, -1)], r).toBeTruthy();
  });

  it('documents the token endpoint without changing it: its answers are as before', async () => {
    const bad = await postForm(`${ts.url}/oauth/token`, { grant_type: 'client_credentials' });
    expect(bad.status).toBe(401);
    expect(bad.json.error).toBe('invalid_client');
    const unknown = await postForm(`${ts.url}/oauth/token`, { grant_type: 'nope', extra: 'field' });
    expect([400, 401]).toContain(unknown.status);
  });
});
