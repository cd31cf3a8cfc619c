import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizationCode,
  ClavisError,
  createVerifier,
  memoryRefreshTokenStore,
  OAuthError,
  type RefreshTokenStore,
  refreshTokenSource,
  type TokenSet,
} from '../src/index.js';
import {
  API,
  authorizeInBrowser,
  REDIRECT_URI,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from './helpers.js';

describe('refreshTokenSource against oidc-provider with refresh token rotation', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTTL: 60 });
  });
  afterAll(() => as.close());

  async function signIn(clientId: 'web' | 'spa'): Promise<TokenSet> {
    const oauth = authorizationCode({
      issuer: as.issuer,
      clientId,
      clientSecret: clientId === 'web' ? 'web-secret' : undefined,
      redirectUri: REDIRECT_URI,
      scope: 'read',
    });
    const { url, state, codeVerifier } = await oauth.createAuthorizationRequest();
    return oauth.handleCallback(await authorizeInBrowser(url), { state, codeVerifier });
  }

  it('premise: replaying a rotated refresh token revokes the whole grant', async () => {
    const initial = await signIn('spa');
    const refresh = async (refreshToken: string) => {
      const res = await fetch(`${as.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: 'spa',
        }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    const first = await refresh(initial.refresh_token!);
    expect(first.status).toBe(200);
    expect((await refresh(initial.refresh_token!)).status).toBe(400); // the "second parallel refresh"
    expect((await refresh(first.body.refresh_token!)).status).toBe(400); // and the winner's token is dead too
  });

  it('single-flight: 25 concurrent getToken() → one refresh; the rotated token is persisted before use', async () => {
    const initial = await signIn('spa');
    const events: string[] = [];
    const inner = memoryRefreshTokenStore(initial.refresh_token);
    const store: RefreshTokenStore = {
      get: inner.get,
      async set(rt) {
        events.push('set');
        await inner.set(rt);
      },
    };
    const tokens = refreshTokenSource({ issuer: as.issuer, clientId: 'spa', store });
    const before = as.tokenRequests.length;

    const results = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const token = await tokens.getToken();
        events.push('token');
        return token;
      }),
    );

    expect(as.tokenRequests.length - before).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(events[0]).toBe('set');
    expect(events.filter((e) => e === 'set')).toHaveLength(1);
    const rotated = await inner.get();
    expect(rotated).toEqual(expect.any(String));
    expect(rotated).not.toBe(initial.refresh_token);

    const claims = await createVerifier({ issuer: as.issuer, audience: API }).verify(results[0]!);
    expect(claims).toMatchObject({ sub: 'alice', client_id: 'spa' });

    // Cached: no new refresh. After invalidation, the persisted (rotated) refresh token still works, which
    // it would not if a second parallel refresh had triggered the server's reuse detection.
    await tokens.getToken();
    expect(as.tokenRequests.length - before).toBe(1);
    tokens.invalidate();
    const next = await tokens.getToken();
    expect(next).not.toBe(results[0]);
    expect(as.tokenRequests.length - before).toBe(2);
    expect(await inner.get()).not.toBe(rotated);
  });

  it('confidential client: uses client_secret_basic and initialTokens until they near expiry', async () => {
    const initial = await signIn('web');
    const store = memoryRefreshTokenStore(initial.refresh_token);
    const tokens = refreshTokenSource({
      issuer: as.issuer,
      clientId: 'web',
      clientSecret: 'web-secret',
      store,
      initialTokens: initial,
    });
    const before = as.tokenRequests.length;
    expect(await tokens.getToken()).toBe(initial.access_token);
    expect(as.tokenRequests.length).toBe(before);

    tokens.invalidate();
    const refreshed = await tokens.getToken();
    expect(refreshed).not.toBe(initial.access_token);
    expect(as.tokenRequests.at(-1)!.headers.authorization).toMatch(/^Basic /);
  });

  it('surfaces invalid_grant for a revoked/unknown refresh token and a typed error for an empty store', async () => {
    const revoked = refreshTokenSource({
      issuer: as.issuer,
      clientId: 'spa',
      store: memoryRefreshTokenStore('not-a-real-refresh-token'),
    });
    const err = await revoked.getToken().catch((e) => e);
    expect(err).toBeInstanceOf(OAuthError);
    expect((err as OAuthError).error).toBe('invalid_grant');

    const empty = refreshTokenSource({
      issuer: as.issuer,
      clientId: 'spa',
      store: memoryRefreshTokenStore(),
    });
    const emptyErr = await empty.getToken().catch((e) => e);
    expect(emptyErr).toBeInstanceOf(ClavisError);
    expect((emptyErr as ClavisError).code).toBe('ERR_NO_REFRESH_TOKEN');
  });
});
