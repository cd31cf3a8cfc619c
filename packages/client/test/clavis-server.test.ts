import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from '../../../test/helpers/server.js';
import { authorizedFetch, clientCredentials, type FetchLike } from '../src/index.js';

// The SDK against a real Clavis server (SQLite or PostgreSQL per CLAVIS_TEST_DB), not a mock.
let ts: TestServer;
let clientId: string;
let clientSecret: string;

beforeAll(async () => {
  ts = await startTestServer();
  const created = await createTestApp(ts, { name: 'SDK against Clavis', default_scopes: ['contacts:read'] });
  clientId = created.app.client_id;
  clientSecret = created.secret!;
});
afterAll(async () => {
  await ts?.close();
});

describe('authorizedFetch against Clavis', () => {
  it('a token revoked server-side: 401 invalid_token, exactly one new token, exactly one retry, then 200', async () => {
    const tokenRequests: string[] = [];
    const apiRequests: string[] = [];
    const counting: FetchLike = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname === '/oauth/token') tokenRequests.push(url.pathname);
      if (url.pathname.startsWith('/api/'))
        apiRequests.push(new Headers(init?.headers).get('authorization') ?? '');
      return fetch(input, init);
    };
    const tokens = clientCredentials({ issuer: ts.url, clientId, clientSecret, fetch: counting });
    const api = authorizedFetch(tokens, { fetch: counting });

    const first = await api(`${ts.url}/api/v1/me`);
    expect(first.status).toBe(200);
    expect((await first.json()).client_id).toBe(clientId);
    const revokedToken = await tokens.getToken();
    expect(tokenRequests).toHaveLength(1);

    // RFC 7009 revocation by the client itself: the access token's jti goes on the deny-list.
    const revoke = await postForm(
      `${ts.url}/oauth/revoke`,
      { token: revokedToken, token_type_hint: 'access_token' },
      { authorization: basicAuth(clientId, clientSecret) },
    );
    expect(revoke.status).toBe(200);
    const refused = await fetch(`${ts.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${revokedToken}` },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);

    tokenRequests.length = 0;
    apiRequests.length = 0;
    const res = await api(`${ts.url}/api/v1/me`);
    expect(res.status).toBe(200);
    expect((await res.json()).client_id).toBe(clientId);
    expect(tokenRequests).toHaveLength(1); // exactly one new token
    expect(apiRequests).toHaveLength(2); // the refused request and exactly one retry
    expect(apiRequests[0]).toBe(`Bearer ${revokedToken}`);
    const fresh = await tokens.getToken();
    expect(fresh).not.toBe(revokedToken);
    expect(apiRequests[1]).toBe(`Bearer ${fresh}`);
  });
});
