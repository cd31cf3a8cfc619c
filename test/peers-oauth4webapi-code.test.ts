import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, Browser } from './helpers/browser.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * oauth4webapi (panva), a strict independent client, runs the whole user flow against Clavis over real HTTP:
 * discovery, PKCE authorization URL, login + consent with a cookie jar, callback (with RFC 9207 iss), code
 * exchange, the API call, refresh, refresh-token reuse detection, and revocation.
 */
let ts: TestServer;
let as: oauth.AuthorizationServer;
let alice: TestUser;
const opts = { [oauth.allowInsecureRequests]: true } as const;
const CALLBACK = 'http://127.0.0.1/callback';

beforeAll(async () => {
  ts = await startTestServer();
  const issuer = new URL(ts.url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }),
  );
  alice = await createUser(ts);
});
afterAll(async () => ts?.close());

async function runFlow(client: oauth.Client, clientAuth: oauth.ClientAuth) {
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', CALLBACK);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'contacts:read profile:read');
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  const browser = new Browser(ts.url);
  const result = await authorize(browser, url.toString(), { email: alice.email, password: alice.password });
  expect(result.sawLogin).toBe(true);
  expect(result.location).toMatch(/^http:\/\/127\.0\.0\.1\/callback\?/);
  const callback = new URL(result.location!);
  expect(callback.searchParams.get('iss')).toBe(ts.url);
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    clientAuth,
    params,
    CALLBACK,
    verifier,
    opts,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
  return { tokens, browser, sawConsent: result.sawConsent };
}

describe('oauth4webapi: authorization code + PKCE + refresh against Clavis', () => {
  it('discovery advertises the code flow, S256 only, iss, and no implicit or password grant', () => {
    expect(as.authorization_endpoint).toBe(`${ts.url}/oauth/authorize`);
    expect(as.response_types_supported).toEqual(['code']);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    expect(as.grant_types_supported).not.toContain('password');
    expect(as.grant_types_supported).not.toContain('implicit');
    expect(as.token_endpoint_auth_methods_supported).toContain('none');
  });

  for (const kind of ['confidential', 'public'] as const) {
    it(`runs the whole flow for a ${kind} client`, async () => {
      const { app, secret } = await createTestApp(ts, { client_type: kind, callback_url: CALLBACK });
      const client: oauth.Client = { client_id: app.client_id };
      const clientAuth = kind === 'confidential' ? oauth.ClientSecretBasic(secret!) : oauth.None();
      const { tokens, sawConsent } = await runFlow(client, clientAuth);
      expect(sawConsent).toBe(true);
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('contacts:read profile:read');
      expect(tokens.refresh_token).toBeTruthy();

      // The API call with the user's token.
      const me = await oauth.protectedResourceRequest(
        tokens.access_token,
        'GET',
        new URL(`${ts.url}/api/v1/me`),
        undefined,
        undefined,
        opts,
      );
      expect(me.status).toBe(200);
      const body = await me.json();
      expect(body).toMatchObject({
        sub: alice.user.id,
        client_id: app.client_id,
        tenant_id: alice.user.tenant_id,
      });

      // Refresh: a new access token and a rotated refresh token.
      const r1 = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, opts),
      );
      expect(r1.refresh_token).toBeTruthy();
      expect(r1.refresh_token).not.toBe(tokens.refresh_token);

      // Reuse of the old refresh token: invalid_grant, and the whole grant is revoked.
      const reuse = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, opts);
      await expect(oauth.processRefreshTokenResponse(as, client, reuse)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      const after = await oauth.refreshTokenGrantRequest(as, client, clientAuth, r1.refresh_token!, opts);
      await expect(oauth.processRefreshTokenResponse(as, client, after)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await expect(
        oauth.protectedResourceRequest(
          r1.access_token,
          'GET',
          new URL(`${ts.url}/api/v1/me`),
          undefined,
          undefined,
          opts,
        ),
      ).rejects.toMatchObject({ status: 401 });

      // A fresh flow, then revocation of its refresh token ends the grant.
      const second = await runFlow(client, clientAuth);
      // Consent is remembered for a confidential client; a public client is always asked.
      expect(second.sawConsent).toBe(kind === 'public');
      const rev = await oauth.revocationRequest(as, client, clientAuth, second.tokens.refresh_token!, opts);
      await oauth.processRevocationResponse(rev);
      const afterRevoke = await oauth.refreshTokenGrantRequest(
        as,
        client,
        clientAuth,
        second.tokens.refresh_token!,
        opts,
      );
      await expect(oauth.processRefreshTokenResponse(as, client, afterRevoke)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await expect(
        oauth.protectedResourceRequest(
          second.tokens.access_token,
          'GET',
          new URL(`${ts.url}/api/v1/me`),
          undefined,
          undefined,
          opts,
        ),
      ).rejects.toMatchObject({ status: 401 });
    });
  }
});
