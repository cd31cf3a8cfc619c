import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, Browser } from './helpers/browser.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * openid-client v6 (panva), as an app developer would use it, runs the whole user flow against Clavis:
 * discovery, authorization URL with PKCE, login and consent over real HTTP, callback, code exchange, the API
 * call, refresh, refresh-token reuse detection, and revocation.
 */
let ts: TestServer;
let bob: TestUser;
const CALLBACK = 'http://127.0.0.1/oidc-cb';

beforeAll(async () => {
  ts = await startTestServer();
  bob = await createUser(ts);
});
afterAll(async () => ts?.close());

async function me(token: string): Promise<number> {
  const r = await fetch(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

describe('openid-client against Clavis', () => {
  for (const kind of ['confidential', 'public'] as const) {
    it(`runs discovery, PKCE, login, consent, exchange, API call, refresh, reuse detection and revocation (${kind})`, async () => {
      const { app, secret } = await createTestApp(ts, { client_type: kind, callback_url: CALLBACK });
      const config = await client.discovery(
        new URL(ts.url),
        app.client_id,
        kind === 'confidential' ? secret! : undefined,
        kind === 'confidential' ? client.ClientSecretBasic(secret!) : client.None(),
        { execute: [client.allowInsecureRequests] },
      );
      expect(config.serverMetadata().authorization_endpoint).toBe(`${ts.url}/oauth/authorize`);

      const verifier = client.randomPKCECodeVerifier();
      const challenge = await client.calculatePKCECodeChallenge(verifier);
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'contacts:read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state,
      });
      const browser = new Browser(ts.url);
      const flow = await authorize(browser, url.href, { email: bob.email, password: bob.password });
      expect(flow.sawConsent).toBe(true);
      expect(flow.location).toContain(`${CALLBACK}?code=`);

      const tokens = await client.authorizationCodeGrant(config, new URL(flow.location!), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('contacts:read');
      const res = await client.fetchProtectedResource(
        config,
        tokens.access_token,
        new URL(`${ts.url}/api/v1/me`),
        'GET',
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ sub: bob.user.id, client_id: app.client_id });

      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(await me(refreshed.access_token)).toBe(200);

      // Reuse of the rotated token is refused and ends the grant, including the newest tokens.
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      expect(await me(refreshed.access_token)).toBe(401);

      // A new authorization (same browser session), then revocation of its refresh token.
      const verifier2 = client.randomPKCECodeVerifier();
      const url2 = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'contacts:read',
        code_challenge: await client.calculatePKCECodeChallenge(verifier2),
        code_challenge_method: 'S256',
        state,
      });
      const flow2 = await authorize(browser, url2.href, {});
      expect(flow2.sawLogin).toBe(false);
      expect(flow2.sawConsent).toBe(kind === 'public');
      const tokens2 = await client.authorizationCodeGrant(config, new URL(flow2.location!), {
        pkceCodeVerifier: verifier2,
        expectedState: state,
      });
      await client.tokenRevocation(config, tokens2.refresh_token!);
      await expect(client.refreshTokenGrant(config, tokens2.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      expect(await me(tokens2.access_token)).toBe(401);
    });
  }
});
