import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizationResponseError,
  authorizationCode,
  createVerifier,
  generateCodeVerifier,
  OAuthError,
} from '../src/index.js';
import {
  API,
  authorizeInBrowser,
  json,
  REDIRECT_URI,
  startAuthorizationServer,
  startServer,
  type TestAuthorizationServer,
} from './helpers.js';

describe('authorizationCode against oidc-provider', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await startAuthorizationServer();
  });
  afterAll(() => as.close());

  const web = () =>
    authorizationCode({
      issuer: as.issuer,
      clientId: 'web',
      clientSecret: 'web-secret',
      redirectUri: REDIRECT_URI,
      scope: 'read',
    });

  it('builds an authorization URL with a PKCE S256 challenge and a random state', async () => {
    const oauth = web();
    const a = await oauth.createAuthorizationRequest();
    const b = await oauth.createAuthorizationRequest();

    expect(`${a.url.origin}${a.url.pathname}`).toBe(`${as.issuer}/auth`);
    const params = a.url.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe('web');
    expect(params.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(params.get('scope')).toBe('read');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toBe(
      createHash('sha256').update(a.codeVerifier).digest('base64url'),
    );
    expect(params.get('state')).toBe(a.state);

    expect(a.codeVerifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(a.state.length).toBeGreaterThanOrEqual(32);
    expect(b.state).not.toBe(a.state);
    expect(b.codeVerifier).not.toBe(a.codeVerifier);
  });

  it('completes the flow for a confidential client (client_secret_basic) and returns verifiable tokens', async () => {
    const oauth = web();
    const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
    const callback = await authorizeInBrowser(url);
    expect(new URL(callback).searchParams.get('iss')).toBe(as.issuer);

    const tokens = await oauth.handleCallback(callback, { state, codeVerifier });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(as.tokenRequests.at(-1)!.headers.authorization).toMatch(/^Basic /);
    const claims = await createVerifier({ issuer: as.issuer, audience: API }).verify(tokens.access_token);
    expect(claims).toMatchObject({ sub: 'alice', client_id: 'web', scope: 'read' });
  });

  it('completes the flow for a public client (client_id in the body, no secret)', async () => {
    const oauth = authorizationCode({
      issuer: as.issuer,
      clientId: 'spa',
      redirectUri: REDIRECT_URI,
      scope: 'read',
    });
    const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
    const tokens = await oauth.handleCallback(new URL(await authorizeInBrowser(url)), {
      state,
      codeVerifier,
    });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(as.tokenRequests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('the server rejects a wrong code_verifier (PKCE is really bound)', async () => {
    const oauth = web();
    const { url, state } = await oauth.createAuthorizationRequest();
    const callback = await authorizeInBrowser(url);
    const err = await oauth
      .handleCallback(callback, { state, codeVerifier: generateCodeVerifier() })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OAuthError);
    expect((err as OAuthError).error).toBe('invalid_grant');
  });

  it('rejects a state mismatch without exchanging the code', async () => {
    const oauth = web();
    const { url, codeVerifier } = await oauth.createAuthorizationRequest();
    const callback = await authorizeInBrowser(url);
    const before = as.tokenRequests.length;
    const err = await oauth
      .handleCallback(callback, { state: 'attacker-state', codeVerifier })
      .catch((e) => e);
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect((err as AuthorizationResponseError).reason).toBe('state_mismatch');
    expect(as.tokenRequests.length).toBe(before);
  });

  it('rejects an iss mismatch (RFC 9207 mix-up defence)', async () => {
    const oauth = web();
    const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
    const callback = new URL(await authorizeInBrowser(url));
    callback.searchParams.set('iss', 'https://evil.example');
    const before = as.tokenRequests.length;
    const err = await oauth.handleCallback(callback, { state, codeVerifier }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect((err as AuthorizationResponseError).reason).toBe('iss_mismatch');
    expect(as.tokenRequests.length).toBe(before);
  });

  it('requires iss when the metadata advertises authorization_response_iss_parameter_supported', async () => {
    const oauth = web();
    expect((await oauth.metadata()).authorization_response_iss_parameter_supported).toBe(true);
    const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
    const callback = new URL(await authorizeInBrowser(url));
    callback.searchParams.delete('iss');
    const err = await oauth.handleCallback(callback, { state, codeVerifier }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect((err as AuthorizationResponseError).reason).toBe('iss_missing');
  });

  it('surfaces an error redirect (user aborted) as OAuthError', async () => {
    const oauth = web();
    const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
    const callback = await authorizeInBrowser(url, { abort: true });
    const err = await oauth.handleCallback(callback, { state, codeVerifier }).catch((e) => e);
    expect(err).toBeInstanceOf(OAuthError);
    expect((err as OAuthError).error).toBe('access_denied');
    expect((err as OAuthError).status).toBeUndefined();
  });
});

describe('authorizationCode against a server without RFC 9207 support', () => {
  it('accepts a callback without iss, accepts a relative callback path, and sends the code exchange', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        return json(res, 200, {
          issuer: server.url,
          authorization_endpoint: `${server.url}/authorize`,
          token_endpoint: `${server.url}/token`,
        });
      }
      json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 60 });
    });
    try {
      const oauth = authorizationCode({
        issuer: server.url,
        clientId: 'app',
        redirectUri: 'https://app.example/cb',
        scope: ['a', 'b'],
      });
      const { url, state, codeVerifier } = await oauth.createAuthorizationRequest({ prompt: 'login' });
      expect(url.searchParams.get('scope')).toBe('a b');
      expect(url.searchParams.get('prompt')).toBe('login');
      const tokens = await oauth.handleCallback(`/cb?code=the-code&state=${state}`, { state, codeVerifier });
      expect(tokens.access_token).toBe('at');

      const exchange = new URLSearchParams(server.requests.at(-1)!.body);
      expect(Object.fromEntries(exchange)).toEqual({
        grant_type: 'authorization_code',
        code: 'the-code',
        redirect_uri: 'https://app.example/cb',
        code_verifier: codeVerifier,
        client_id: 'app',
      });
      await expect(oauth.handleCallback(`/cb?state=${state}`, { state, codeVerifier })).rejects.toMatchObject(
        {
          reason: 'code_missing',
        },
      );
    } finally {
      await server.close();
    }
  });

  it('refuses servers that advertise PKCE without S256', async () => {
    const server = await startServer((_req, res) =>
      json(res, 200, {
        issuer: server.url,
        authorization_endpoint: `${server.url}/authorize`,
        token_endpoint: `${server.url}/token`,
        code_challenge_methods_supported: ['plain'],
      }),
    );
    try {
      const oauth = authorizationCode({
        issuer: server.url,
        clientId: 'app',
        redirectUri: 'https://a/cb',
        scope: 'x',
      });
      await expect(oauth.createAuthorizationRequest()).rejects.toThrow(/S256/);
    } finally {
      await server.close();
    }
  });
});
