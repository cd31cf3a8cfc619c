/**
 * A client_credentials token has no user: OpenID Connect's scopes never go in one, and the UserInfo endpoint
 * answers a user-less token with an RFC 6750 error, not a 500 (a review of stop 28 found a token the app's
 * `openid` permission had put in it, and a typographic apostrophe in the challenge, which Node.js refuses
 * to send in a header).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidToken } from '../src/oauth/errors.js';
import {
  basicAuth,
  createTestApp,
  defaultTenantId,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

let ts: TestServer;
let clientId: string;
let auth: string;
beforeAll(async () => {
  ts = await startTestServer();
  const created = await createTestApp(ts, {
    scopes: ['contacts:read', 'openid', 'profile', 'email'],
    default_scopes: ['contacts:read', 'openid', 'profile', 'email'],
  });
  clientId = created.app.client_id;
  auth = basicAuth(clientId, created.secret!);
});
afterAll(async () => ts?.close());

const cc = (extra: Record<string, string> = {}) =>
  postForm(`${ts.url}/oauth/token`, { grant_type: 'client_credentials', ...extra }, { authorization: auth });

describe('client_credentials and the OpenID scopes', () => {
  it('leaves openid, profile and email out of the default scope', async () => {
    const r = await cc();
    expect(r.status, r.text).toBe(200);
    expect(r.json.scope).toBe('contacts:read');
  });

  it.each(['openid', 'contacts:read email'])(
    'refuses scope=%s with invalid_scope that says why',
    async (scope) => {
      const r = await cc({ scope });
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_scope');
      expect(r.json.error_description).toMatch(/for a user/);
    },
  );
});

describe('UserInfo with a token that has no user', () => {
  async function userinfo(token: string) {
    const res = await fetch(`${ts.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: res.status,
      challenge: res.headers.get('www-authenticate') ?? '',
      body: await res.json(),
    };
  }

  it('a client_credentials token lacks openid: 403 insufficient_scope', async () => {
    const r = await userinfo((await cc()).json.access_token);
    expect(r.status).toBe(403);
    expect(r.body.error).toBe('insufficient_scope');
  });

  it('a user-less token that carries openid (issued before this rule): 401 invalid_token, not a 500', async () => {
    const issued = await ts.server.services.tokens.issue({
      sub: clientId,
      clientId,
      scope: ['openid'],
      tenantId: await defaultTenantId(ts),
    });
    const r = await userinfo(issued.token);
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_token');
    expect(r.body.error_description).toMatch(/not for a user/);
    expect(r.challenge).toMatch(/^Bearer realm="clavis", error="invalid_token"/);
  });
});

describe('error descriptions', () => {
  it('keep to the characters RFC 6749 §5.2 and RFC 6750 §3 allow', () => {
    const err = new InvalidToken('The token\u2019s \u201cx\u201d \u2014 y\u2026 a\\b "q" \u00e9\u0007');
    expect(err.description).toBe("The token's 'x' - y... a/b 'q' ??");
    expect(err.toJSON().error_description).toBe(err.description);
    expect(err.description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/);
  });
});
