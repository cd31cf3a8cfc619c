import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealedBox } from '../src/crypto/sealed-box.js';
import type { App } from '../src/domain/apps.js';
import { updateApp } from '../src/domain/apps.js';
import type { DomainContext } from '../src/domain/context.js';
import { requestPasswordReset, resetPassword } from '../src/domain/email-links.js';
import { BACKCHANNEL_LOGOUT_KIND, type LogoutMessage } from '../src/domain/oidc.js';
import { drainOutbox } from '../src/domain/outbox.js';
import { updateUser } from '../src/domain/user-management.js';
import { KeyStore } from '../src/keys/key-store.js';
import { LOGOUT_RETRY_MS, registerBackchannelLogoutHandler } from '../src/oauth/oidc/backchannel-logout.js';
import { IdTokens } from '../src/oauth/oidc/id-token.js';
import { authorize, Browser, parseForms } from './helpers/browser.js';
import { pkce } from './helpers/flow.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * Clavis as an OpenID Provider, module by module after the OpenID Foundation's
 * `oidcc-basic-certification-test-plan` and `oidcc-config-certification-test-plan` (each `it` is named after
 * its module), plus openid-client's full flow, oauth4webapi's strict ID token validation per algorithm,
 * RP-initiated logout and back-channel logout.
 */
let ts: TestServer;
let bob: TestUser;
const CALLBACK = 'http://127.0.0.1/oidc-cb';
const AFTER_LOGOUT = 'http://127.0.0.1/signed-out';

beforeAll(async () => {
  // The back-channel logout receivers of these tests listen on loopback, which delivery refuses without it.
  // Its outbox worker stays out of the way (CLAVIS_OUTBOX_POLL_MS): the back-channel tests drain by hand.
  ts = await startTestServer({
    env: { CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true', CLAVIS_OUTBOX_POLL_MS: '600000' },
  });
  bob = await createUser(ts);
});
afterAll(async () => ts?.close());

async function oidcApp(patch: Parameters<typeof updateApp>[3] = {}): Promise<{ app: App; secret: string }> {
  const created = await createTestApp(ts, { callback_url: CALLBACK });
  const app = Object.keys(patch).length
    ? await updateApp(ts.server.services.ctx, await adminActor(ts), created.app.id, patch)
    : created.app;
  return { app, secret: created.secret! };
}

/** Authorization URL parameters for an OIDC code request with PKCE; `extra` adds or overrides. */
function params(app: App, extra: Record<string, string> = {}) {
  const p = pkce();
  const q: Record<string, string> = {
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: CALLBACK,
    scope: 'openid',
    state: 'st-1',
    nonce: 'n-0S6_WzA2Mj',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(q)) if (v === '') delete q[k];
  return { query: new URLSearchParams(q).toString(), verifier: p.verifier };
}

/** Runs the authorization request in `browser` (signing in as `who` when asked); returns the redirect's query. */
async function run(
  app: App,
  extra: Record<string, string> = {},
  browser = new Browser(ts.url),
  who: TestUser = bob,
) {
  const { query, verifier } = params(app, extra);
  const r = await authorize(browser, `${ts.url}/oauth/authorize?${query}`, {
    email: who.email,
    password: who.password,
  });
  if (!r.location) throw new Error(`no redirect: ${r.page.status} ${r.page.html.slice(0, 400)}`);
  return { back: new URL(r.location).searchParams, browser, verifier, sawLogin: r.sawLogin, r };
}

async function exchange(app: App, secret: string, code: string, verifier: string, post = false) {
  const body: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: CALLBACK,
    code_verifier: verifier,
  };
  if (post)
    return postForm(`${ts.url}/oauth/token`, { ...body, client_id: app.client_id, client_secret: secret });
  return postForm(`${ts.url}/oauth/token`, body, { authorization: basicAuth(app.client_id, secret) });
}

/** Code flow to tokens (as `who`, bob by default): the token response body. */
async function tokens(
  app: App,
  secret: string,
  extra: Record<string, string> = {},
  browser?: Browser,
  who: TestUser = bob,
) {
  const { back, verifier } = await run(app, extra, browser, who);
  const code = back.get('code');
  if (!code) throw new Error(`no code: ${back}`);
  const res = await exchange(app, secret, code, verifier);
  expect(res.status).toBe(200);
  return res.json as { access_token: string; id_token?: string; refresh_token: string; scope: string };
}

const jwks = () => createRemoteJWKSet(new URL(`${ts.url}/.well-known/jwks.json`));
async function verifyIdToken(idToken: string, app: App) {
  const { payload, protectedHeader } = await jwtVerify(idToken, jwks(), {
    issuer: ts.url,
    audience: app.client_id,
  });
  return { payload, protectedHeader };
}

const userinfo = (token: string, init: RequestInit = {}) =>
  fetch(`${ts.url}/oauth/userinfo`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  });

describe('oidcc-basic-certification-test-plan', () => {
  it('oidcc-server: the code flow returns an ID token with every required claim', async () => {
    const { app, secret } = await oidcApp();
    const before = Math.floor(Date.now() / 1000);
    const t = await tokens(app, secret);
    expect(t.id_token).toBeDefined();
    const { payload, protectedHeader } = await verifyIdToken(t.id_token!, app);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: ts.url,
      sub: bob.user.id,
      aud: app.client_id,
      nonce: 'n-0S6_WzA2Mj',
    });
    expect(payload.sub).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.auth_time).toBeGreaterThanOrEqual(before - 1);
    expect(payload.amr).toEqual(['pwd']);
    expect(typeof payload.sid).toBe('string');
    expect(payload.acr).toBeUndefined();
    expect(payload.at_hash).toBe(oauthAtHash(t.access_token, 'sha256'));
    // Access tokens keep their own algorithm (ES256 here).
    expect(decodeProtectedHeader(t.access_token).alg).toBe('ES256');
  });

  it('oidcc-server-client-secret-post: the same with client_secret_post', async () => {
    const { app, secret } = await oidcApp();
    const { back, verifier } = await run(app);
    const res = await exchange(app, secret, back.get('code')!, verifier, true);
    expect(res.status).toBe(200);
    expect((await verifyIdToken(res.json.id_token, app)).payload.sub).toBe(bob.user.id);
  });

  it('oidcc-response-type-missing: invalid_request back to the client with state and iss', async () => {
    const { app } = await oidcApp();
    const { back } = await run(app, { response_type: '' });
    expect(back.get('error')).toBe('invalid_request');
    expect(back.get('state')).toBe('st-1');
    expect(back.get('iss')).toBe(ts.url);
  });

  it('oidcc-idtoken-unsigned: not applicable, no app can choose alg none', async () => {
    const { app } = await oidcApp();
    await expect(
      updateApp(ts.server.services.ctx, await adminActor(ts), app.id, {
        id_token_signed_response_alg: 'none',
      }),
    ).rejects.toMatchObject({ errorCode: 'app_oidc_field_invalid' });
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const)
    it(`oidcc-idtoken-signature (${alg}): oauth4webapi validates the ID token strictly`, async () => {
      const { app, secret } = await oidcApp({ id_token_signed_response_alg: alg });
      const as = await oauth.processDiscoveryResponse(
        new URL(ts.url),
        await oauth.discoveryRequest(new URL(ts.url), {
          algorithm: 'oidc',
          [oauth.allowInsecureRequests]: true,
        }),
      );
      const c: oauth.Client = { client_id: app.client_id, id_token_signed_response_alg: alg };
      const { query, verifier } = params(app, { nonce: 'nonce-for-o4w' });
      const r = await authorize(new Browser(ts.url), `${ts.url}/oauth/authorize?${query}`, {
        email: bob.email,
        password: bob.password,
      });
      const cb = oauth.validateAuthResponse(as, c, new URL(r.location!), 'st-1');
      const res = await oauth.authorizationCodeGrantRequest(
        as,
        c,
        oauth.ClientSecretBasic(secret),
        cb,
        CALLBACK,
        verifier,
        { [oauth.allowInsecureRequests]: true },
      );
      const result = await oauth.processAuthorizationCodeResponse(as, c, res, {
        expectedNonce: 'nonce-for-o4w',
        requireIdToken: true,
      });
      const claims = oauth.getValidatedIdTokenClaims(result)!;
      expect(claims.sub).toBe(bob.user.id);
      expect(decodeProtectedHeader(result.id_token!).alg).toBe(alg);
      // at_hash: SHA-256 for RS256/ES256, SHA-512 for Ed25519.
      expect(claims.at_hash).toBe(oauthAtHash(result.access_token, alg === 'EdDSA' ? 'sha512' : 'sha256'));
    });

  it('oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body', async () => {
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret, { scope: 'openid profile email' });
    const get = await userinfo(t.access_token);
    expect(get.status).toBe(200);
    expect(get.headers.get('cache-control')).toBe('no-store');
    const claims = await get.json();
    expect(claims).toEqual({
      sub: bob.user.id,
      name: bob.user.display_name,
      preferred_username: bob.email,
      updated_at: expect.any(Number),
      email: bob.email,
      email_verified: false,
    });
    const header = await userinfo(t.access_token, { method: 'POST' });
    expect(await header.json()).toEqual(claims);
    const body = await postForm(`${ts.url}/oauth/userinfo`, { access_token: t.access_token });
    expect(body.status).toBe(200);
    expect(body.json).toEqual(claims);
  });

  it('email_verified is the sign-up address check (users.email_verified_at)', async () => {
    const { app, secret } = await oidcApp();
    const carol = await createUser(ts);
    const db = ts.server.services.ctx.db;
    const before = Date.now() - 60_000;
    await db.updateTable('users').set({ updated_at: before }).where('id', '=', carol.user.id).execute();
    const claimsOf = async () => {
      const { query, verifier } = params(app, { scope: 'openid profile email' });
      const r = await authorize(new Browser(ts.url), `${ts.url}/oauth/authorize?${query}`, {
        email: carol.email,
        password: carol.password,
      });
      const code = new URL(r.location!).searchParams.get('code')!;
      const t = await exchange(app, secret, code, verifier);
      return (await userinfo(t.json.access_token)).json();
    };
    expect(await claimsOf()).toMatchObject({ email_verified: false, updated_at: Math.floor(before / 1000) });
    // What following the sign-up link writes (email-links.completeSignup; signup-mail tests that path).
    await db
      .updateTable('users')
      .set({ email_verified_at: Date.now() })
      .where('id', '=', carol.user.id)
      .execute();
    expect((await claimsOf()).email_verified).toBe(true);
  });

  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async () => {
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret, { nonce: '' });
    expect(decodeJwt(t.id_token!).nonce).toBeUndefined();
  });

  it('oidcc-scope-profile, oidcc-scope-email, oidcc-scope-all; address and phone are not applicable', async () => {
    const { app, secret } = await oidcApp();
    const profile = await (
      await userinfo((await tokens(app, secret, { scope: 'openid profile' })).access_token)
    ).json();
    expect(Object.keys(profile).sort()).toEqual(['name', 'preferred_username', 'sub', 'updated_at']);
    const email = await (
      await userinfo((await tokens(app, secret, { scope: 'openid email' })).access_token)
    ).json();
    expect(Object.keys(email).sort()).toEqual(['email', 'email_verified', 'sub']);
    const bare = await (await userinfo((await tokens(app, secret, { scope: 'openid' })).access_token)).json();
    expect(bare).toEqual({ sub: bob.user.id });
    // address and phone are not in the catalogue: asking for them is invalid_scope, never a silent grant.
    const { back } = await run(app, { scope: 'openid address' });
    expect(back.get('error')).toBe('invalid_scope');
  });

  it('oidcc-ensure-other-scope-order-succeeds', async () => {
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret, { scope: 'email openid' });
    expect(t.scope.split(' ').sort()).toEqual(['email', 'openid']);
    expect(t.id_token).toBeDefined();
  });

  it('oidcc-display-page, oidcc-display-popup, oidcc-ui-locales, oidcc-claims-locales: accepted and ignored', async () => {
    const { app, secret } = await oidcApp();
    const extras: Array<Record<string, string>> = [
      { display: 'page' },
      { display: 'popup' },
      { ui_locales: 'se' },
      { claims_locales: 'se' },
    ];
    for (const extra of extras) expect((await tokens(app, secret, extra)).id_token).toBeDefined();
  });

  it('oidcc-prompt-login: a second sign-in, with a later auth_time', async () => {
    const { app, secret } = await oidcApp();
    const browser = new Browser(ts.url);
    const first = decodeJwt((await tokens(app, secret, {}, browser)).id_token!);
    await new Promise((r) => setTimeout(r, 1100));
    const again = await run(app, { prompt: 'login' }, browser);
    expect(again.sawLogin).toBe(true);
    const res = await exchange(app, secret, again.back.get('code')!, again.verifier);
    const second = decodeJwt(res.json.id_token);
    expect(second.sub).toBe(first.sub);
    expect(second.auth_time as number).toBeGreaterThan(first.auth_time as number);
  });

  it('oidcc-prompt-none-not-logged-in: login_required, never a page', async () => {
    const { app } = await oidcApp();
    const { query } = params(app, { prompt: 'none' });
    const res = await new Browser(ts.url).get(`${ts.url}/oauth/authorize?${query}`);
    expect(res.status).toBe(302);
    const back = new URL(res.location!).searchParams;
    expect(back.get('error')).toBe('login_required');
    expect(back.get('state')).toBe('st-1');
    expect(back.get('iss')).toBe(ts.url);
  });

  it('oidcc-prompt-none-logged-in: a code without any page', async () => {
    const { app, secret } = await oidcApp();
    const browser = new Browser(ts.url);
    await tokens(app, secret, {}, browser);
    const { query, verifier } = params(app, { prompt: 'none' });
    const res = await browser.get(`${ts.url}/oauth/authorize?${query}`);
    expect(res.status).toBe(302);
    const code = new URL(res.location!).searchParams.get('code')!;
    expect((await exchange(app, secret, code, verifier)).json.id_token).toBeDefined();
  });

  it('prompt=none where consent would be asked is consent_required; none with another value is invalid_request', async () => {
    const { app } = await oidcApp();
    const browser = new Browser(ts.url);
    await run(app, { scope: 'openid' }, browser);
    const wider = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { prompt: 'none', scope: 'openid email' }).query}`,
    );
    expect(new URL(wider.location!).searchParams.get('error')).toBe('consent_required');
    const mixed = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { prompt: 'none login' }).query}`,
    );
    expect(new URL(mixed.location!).searchParams.get('error')).toBe('invalid_request');
    const bogus = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { prompt: 'sometimes' }).query}`,
    );
    expect(new URL(bogus.location!).searchParams.get('error')).toBe('invalid_request');
  });

  it('oidcc-max-age-1: a sign-in older than max_age asks again; max_age=0 always asks', async () => {
    const { app, secret } = await oidcApp();
    const browser = new Browser(ts.url);
    const first = decodeJwt((await tokens(app, secret, {}, browser)).id_token!);
    await new Promise((r) => setTimeout(r, 2100));
    const again = await run(app, { max_age: '1' }, browser);
    expect(again.sawLogin).toBe(true);
    const second = decodeJwt(
      (await exchange(app, secret, again.back.get('code')!, again.verifier)).json.id_token,
    );
    expect(second.auth_time as number).toBeGreaterThan(first.auth_time as number);
    expect((await run(app, { max_age: '0' }, browser)).sawLogin).toBe(true);
    const none = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { max_age: '0', prompt: 'none' }).query}`,
    );
    expect(new URL(none.location!).searchParams.get('error')).toBe('login_required');
    const bad = await browser.get(`${ts.url}/oauth/authorize?${params(app, { max_age: '-1' }).query}`);
    expect(new URL(bad.location!).searchParams.get('error')).toBe('invalid_request');
  });

  it('oidcc-max-age-10000: a recent sign-in is used as it is', async () => {
    const { app, secret } = await oidcApp();
    const browser = new Browser(ts.url);
    await tokens(app, secret, {}, browser);
    expect((await run(app, { max_age: '10000' }, browser)).sawLogin).toBe(false);
  });

  it('oidcc-ensure-request-with-unknown-parameter-succeeds', async () => {
    const { app, secret } = await oidcApp();
    expect((await tokens(app, secret, { extra_unknown_parameter: 'x' })).id_token).toBeDefined();
  });

  it('oidcc-id-token-hint: prompt=none with the previous ID token returns the same user', async () => {
    const { app, secret } = await oidcApp();
    const browser = new Browser(ts.url);
    const first = await tokens(app, secret, {}, browser);
    const { query, verifier } = params(app, { prompt: 'none', id_token_hint: first.id_token! });
    const res = await browser.get(`${ts.url}/oauth/authorize?${query}`);
    const code = new URL(res.location!).searchParams.get('code')!;
    const second = (await exchange(app, secret, code, verifier)).json;
    expect(decodeJwt(second.id_token).sub).toBe(decodeJwt(first.id_token!).sub);
    // A hint that is not this server's ID token for this client is invalid_request.
    const forged = `${first.id_token!.slice(0, -4)}AAAA`;
    const bad = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { prompt: 'none', id_token_hint: forged }).query}`,
    );
    expect(new URL(bad.location!).searchParams.get('error')).toBe('invalid_request');
    const other = await oidcApp();
    const elsewhere = await browser.get(
      `${ts.url}/oauth/authorize?${params(other.app, { prompt: 'none', id_token_hint: first.id_token! }).query}`,
    );
    expect(new URL(elsewhere.location!).searchParams.get('error')).toBe('invalid_request');
  });

  it('oidcc-login-hint: the sign-in form comes with the email filled in', async () => {
    const { app } = await oidcApp();
    const { query } = params(app, { login_hint: 'carol@example.test' });
    const page = await new Browser(ts.url).get(`${ts.url}/oauth/authorize?${query}`);
    const form = parseForms(page.html).find((f) => f.action === '/login')!;
    expect(form.fields.email).toBe('carol@example.test');
  });

  it('oidcc-ensure-request-with-acr-values-succeeds: acr is reported when asked for', async () => {
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret, { acr_values: '1 2' });
    expect(decodeJwt(t.id_token!).acr).toBe('1');
  });

  it('oidcc-codereuse and oidcc-codereuse-30seconds: a second use fails and revokes what the code gave', async () => {
    const { app, secret } = await oidcApp();
    const { back, verifier } = await run(app);
    const code = back.get('code')!;
    const first = await exchange(app, secret, code, verifier);
    expect(first.status).toBe(200);
    const second = await exchange(app, secret, code, verifier);
    expect(second.status).toBe(400);
    expect(second.json.error).toBe('invalid_grant');
    expect((await userinfo(first.json.access_token)).status).toBe(401);
    const refresh = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: first.json.refresh_token },
      { authorization: basicAuth(app.client_id, secret) },
    );
    expect(refresh.json.error).toBe('invalid_grant');
  });

  it('oidcc-ensure-registered-redirect-uri: an error page, never a redirect', async () => {
    const { app } = await oidcApp();
    const { query } = params(app, { redirect_uri: 'https://attacker.example/cb' });
    const res = await new Browser(ts.url).get(`${ts.url}/oauth/authorize?${query}`);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
  });

  it('oidcc-ensure-post-request-succeeds: the authorization endpoint accepts POST', async () => {
    const { app, secret } = await oidcApp();
    const browser = new Browser(ts.url);
    await tokens(app, secret, {}, browser);
    const { query, verifier } = params(app);
    const res = await browser.post(`${ts.url}/oauth/authorize`, query);
    expect(res.status).toBe(302);
    const code = new URL(res.location!).searchParams.get('code')!;
    expect((await exchange(app, secret, code, verifier)).json.id_token).toBeDefined();
  });

  it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported and oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: rejected with their registered errors', async () => {
    const { app } = await oidcApp();
    const browser = new Browser(ts.url);
    const uri = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { request_uri: 'https://rp.example/req' }).query}`,
    );
    expect(new URL(uri.location!).searchParams.get('error')).toBe('request_uri_not_supported');
    const obj = await browser.get(
      `${ts.url}/oauth/authorize?${params(app, { request: 'eyJhbGciOiJub25lIn0.e30.' }).query}`,
    );
    const back = new URL(obj.location!).searchParams;
    expect(back.get('error')).toBe('request_not_supported');
    expect(back.get('state')).toBe('st-1');
    expect(back.get('iss')).toBe(ts.url);
  });

  it('oidcc-claims-essential: the claims parameter is not supported and a well-formed one is ignored; a malformed one is invalid_request', async () => {
    const { app, secret } = await oidcApp();
    // OIDC Core §5.5: an OP without support SHOULD answer with the claims it thinks useful; here the scopes
    // alone decide. Asking for name and email (essential) with only `openid` releases neither.
    const t = await tokens(app, secret, {
      claims: JSON.stringify({
        userinfo: { name: { essential: true }, email: null },
        id_token: { email: { essential: true }, auth_time: { essential: true } },
      }),
    });
    expect(t.id_token).toBeDefined();
    expect(t.scope.split(' ')).toEqual(['openid']);
    const { payload } = await verifyIdToken(t.id_token!, app);
    expect(payload.email).toBeUndefined();
    expect(payload.name).toBeUndefined();
    const info = await userinfo(t.access_token);
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({ sub: bob.user.id });
    // Not a JSON object: refused, whatever the shape of the error would be otherwise.
    const bad = await new Browser(ts.url).get(
      `${ts.url}/oauth/authorize?${params(app, { claims: '[1' }).query}`,
    );
    expect(new URL(bad.location!).searchParams.get('error')).toBe('invalid_request');
  });

  it('oidcc-refresh-token: a new ID token with the same sub and auth_time and no nonce', async () => {
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret);
    const res = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: t.refresh_token },
      { authorization: basicAuth(app.client_id, secret) },
    );
    expect(res.status).toBe(200);
    const before = decodeJwt(t.id_token!);
    const { payload } = await verifyIdToken(res.json.id_token, app);
    expect(payload.sub).toBe(before.sub);
    expect(payload.auth_time).toBe(before.auth_time);
    expect(payload.nonce).toBeUndefined();
    expect(payload.at_hash).toBe(oauthAtHash(res.json.access_token, 'sha256'));
  });

  it('oidcc-ensure-request-with-valid-pkce-succeeds', async () => {
    const { app, secret } = await oidcApp();
    const { back, verifier } = await run(app);
    expect((await exchange(app, secret, back.get('code')!, verifier)).status).toBe(200);
    const again = await run(app);
    expect((await exchange(app, secret, again.back.get('code')!, `${verifier}x`)).json.error).toBe(
      'invalid_grant',
    );
  });

  it('no ID token without the openid scope', async () => {
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret, { scope: 'contacts:read' });
    expect(t.id_token).toBeUndefined();
    const res = await userinfo(t.access_token);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
  });
});

describe('UserInfo errors (RFC 6750)', () => {
  it('refuses a missing token, a token for another audience, and a token in two places', async () => {
    const missing = await fetch(`${ts.url}/oauth/userinfo`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="clavis", error="invalid_token"/);
    const { app, secret } = await oidcApp();
    const t = await tokens(app, secret);
    // Same key, same claims, but issued for another API's audience.
    const key = ts.server.services.keys.signingKey();
    const claims = decodeJwt(t.access_token);
    const foreign = await new SignJWT({ ...claims, aud: 'https://other-api.example' })
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .sign(key.privateKey);
    const other = await userinfo(foreign);
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const both = await postForm(
      `${ts.url}/oauth/userinfo`,
      { access_token: t.access_token },
      { authorization: `Bearer ${t.access_token}` },
    );
    expect(both.status).toBe(400);
    expect(both.json.error).toBe('invalid_request');
  });
});

describe('oidcc-config-certification-test-plan', () => {
  it('oidcc-discovery-endpoint-verification: a true OpenID Provider document; RFC 8414 keeps OAuth fields', async () => {
    const meta = await (await fetch(`${ts.url}/.well-known/openid-configuration`)).json();
    expect(meta).toMatchObject({
      issuer: ts.url,
      authorization_endpoint: `${ts.url}/oauth/authorize`,
      token_endpoint: `${ts.url}/oauth/token`,
      userinfo_endpoint: `${ts.url}/oauth/userinfo`,
      end_session_endpoint: `${ts.url}/oauth/end-session`,
      jwks_uri: `${ts.url}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    });
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(meta.claims_supported).toEqual(
      expect.arrayContaining(['sub', 'name', 'preferred_username', 'updated_at', 'email', 'email_verified']),
    );
    const keys = (await (await fetch(meta.jwks_uri)).json()).keys as Array<{ alg: string; d?: string }>;
    expect(new Set(keys.map((k) => k.alg))).toEqual(new Set(['RS256', 'ES256', 'EdDSA']));
    expect(keys.every((k) => k.d === undefined)).toBe(true);
    const oauthMeta = await (await fetch(`${ts.url}/.well-known/oauth-authorization-server`)).json();
    expect(oauthMeta.userinfo_endpoint).toBeUndefined();
    expect(oauthMeta.token_endpoint).toBe(`${ts.url}/oauth/token`);
  });
});

describe('openid-client runs the whole OpenID Connect flow', () => {
  it('discovery, nonce and PKCE, code grant with expectedNonce, UserInfo, refresh, end-session URL', async () => {
    const { app, secret } = await oidcApp({ post_logout_redirect_uri: AFTER_LOGOUT });
    const config = await client.discovery(
      new URL(ts.url),
      app.client_id,
      secret,
      client.ClientSecretBasic(secret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const browser = new Browser(ts.url);
    const flow = await authorize(browser, url.href, { email: bob.email, password: bob.password });
    const got = await client.authorizationCodeGrant(config, new URL(flow.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = got.claims()!;
    expect(claims.sub).toBe(bob.user.id);
    const info = await client.fetchUserInfo(config, got.access_token, claims.sub);
    expect(info).toMatchObject({ sub: bob.user.id, email: bob.email });
    const refreshed = await client.refreshTokenGrant(config, got.refresh_token!);
    expect(refreshed.claims()!.sub).toBe(claims.sub);
    expect(refreshed.claims()!.auth_time).toBe(claims.auth_time);

    const end = client.buildEndSessionUrl(config, {
      id_token_hint: got.id_token!,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: 'bye',
    });
    const out = await browser.get(end.href);
    expect(out.status).toBe(302);
    expect(out.location).toBe(`${AFTER_LOGOUT}?state=bye`);
    // The Clavis session ended: the next request asks to sign in.
    const next = await browser.get(`${ts.url}/oauth/authorize?${params(app, { prompt: 'none' }).query}`);
    expect(new URL(next.location!).searchParams.get('error')).toBe('login_required');
  });
});

describe('RP-initiated logout', () => {
  it('asks for confirmation without id_token_hint; a CSRF-checked yes signs out', async () => {
    const { app, secret } = await oidcApp({ post_logout_redirect_uri: AFTER_LOGOUT });
    const browser = new Browser(ts.url);
    await tokens(app, secret, {}, browser);
    const q = new URLSearchParams({
      client_id: app.client_id,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: 's',
    });
    const page = await browser.get(`${ts.url}/oauth/end-session?${q}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Sign out of Clavis?');
    const forged = await browser.post(`${ts.url}/oauth/end-session`, {
      ...Object.fromEntries(q),
      confirm: 'yes',
      csrf: 'x',
    });
    expect(forged.status).toBe(403);
    const yes = await browser.submit(page, '/oauth/end-session', {}, 'yes');
    expect(yes.status).toBe(303);
    expect(yes.location).toBe(`${AFTER_LOGOUT}?state=s`);
    const next = await browser.get(`${ts.url}/oauth/authorize?${params(app, { prompt: 'none' }).query}`);
    expect(new URL(next.location!).searchParams.get('error')).toBe('login_required');
  });

  it('refuses an unregistered post_logout_redirect_uri and a bad hint with a page, never a redirect', async () => {
    const { app, secret } = await oidcApp({ post_logout_redirect_uri: AFTER_LOGOUT });
    const browser = new Browser(ts.url);
    const t = await tokens(app, secret, {}, browser);
    const bad = await browser.get(
      `${ts.url}/oauth/end-session?${new URLSearchParams({ id_token_hint: t.id_token!, post_logout_redirect_uri: 'https://evil.example/' })}`,
    );
    expect(bad.status).toBe(400);
    expect(bad.location).toBeNull();
    const hint = await browser.get(`${ts.url}/oauth/end-session?id_token_hint=not.a.token`);
    expect(hint.status).toBe(400);
    // Still signed in after both refusals.
    const still = await browser.get(`${ts.url}/oauth/authorize?${params(app, { prompt: 'none' }).query}`);
    expect(new URL(still.location!).searchParams.get('code')).toBeTruthy();
  });
});

/** A relying party's back-channel logout endpoint: records logout tokens; answers `statuses` in turn. */
async function logoutReceiver(statuses: number[] = [200]) {
  const received: string[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    contentTypes.push(req.headers['content-type'] ?? '');
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bc-logout`;
  return { url, received, contentTypes, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function auditTypes(appId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const rows = await ts.server.services.ctx.db
    .selectFrom('audit_events')
    .select(['type', 'data'])
    .where('app_id', '=', appId)
    .where('type', 'like', 'backchannel%')
    .execute();
  return rows.map((r) => ({ type: r.type, data: JSON.parse(r.data) }));
}

/** Back-channel logout messages in the outbox, by status. */
async function logoutRows() {
  return ts.server.services.ctx.db
    .selectFrom('outbox')
    .select(['id', 'status', 'attempts', 'payload', 'created_at'])
    .where('kind', '=', BACKCHANNEL_LOGOUT_KIND)
    .execute();
}

/** The back-channel logout messages queued for one user, as their payloads. */
async function logoutsOf(userId: string): Promise<LogoutMessage[]> {
  return (await logoutRows())
    .map((r) => JSON.parse(r.payload) as LogoutMessage)
    .filter((m) => m.user_id === userId);
}

/** Runs the outbox worker once for back-channel logouts, at `now` (default: the real clock). */
function drainLogouts(now?: number, ctx: DomainContext = ts.server.services.ctx) {
  return drainOutbox(now === undefined ? ctx : { ...ctx, now: () => now }, {
    kinds: [BACKCHANNEL_LOGOUT_KIND],
  });
}

/** Signs `browser` out of Clavis with the hub's sign-out form. */
async function hubSignOut(browser: Browser) {
  const home = await browser.get(`${ts.url}/account/connected-apps`);
  const csrf = parseForms(home.html).find((f) => f.action === '/logout')!.fields.csrf!;
  return browser.post(`${ts.url}/logout`, { csrf });
}

describe('back-channel logout', () => {
  it('POSTs a signed logout token when the user signs out, and when they revoke the app', async () => {
    const rp = await logoutReceiver();
    try {
      const { app, secret } = await oidcApp({ backchannel_logout_uri: rp.url });
      const browser = new Browser(ts.url);
      const t = await tokens(app, secret, {}, browser);
      const sid = decodeJwt(t.id_token!).sid;
      const out = await hubSignOut(browser);
      expect(out.status).toBe(303);
      // The sign-out wrote one outbox message for the (app, session) and returned without delivering it.
      const queued = (await logoutRows()).filter((r) => JSON.parse(r.payload).app_id === app.id);
      expect(queued).toHaveLength(1);
      expect(JSON.parse(queued[0]!.payload)).toEqual({ app_id: app.id, user_id: bob.user.id, sid });
      expect(rp.received).toHaveLength(0);
      expect(await drainLogouts()).toMatchObject({ delivered: 1, failed: 0, retried: 0 });
      expect(rp.received).toHaveLength(1);
      expect(rp.contentTypes[0]).toBe('application/x-www-form-urlencoded');
      const { payload, protectedHeader } = await jwtVerify(rp.received[0]!, jwks(), {
        issuer: ts.url,
        audience: app.client_id,
        typ: 'logout+jwt',
      });
      expect(protectedHeader.alg).toBe('RS256');
      expect(Object.keys(payload).sort()).toEqual([
        'aud',
        'events',
        'exp',
        'iat',
        'iss',
        'jti',
        'sid',
        'sub',
      ]);
      expect(payload).toMatchObject({ sub: bob.user.id, sid });
      expect(payload.exp! - payload.iat!).toBe(120);
      expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(payload.nonce).toBeUndefined();
      expect(typeof payload.jti).toBe('string');

      // Revoking the app under Connected apps tells it too.
      const browser2 = new Browser(ts.url);
      await tokens(app, secret, {}, browser2);
      const apps = await browser2.get(`${ts.url}/account/connected-apps?confirm=${app.id}`);
      const form = parseForms(apps.html).find(
        (f) => f.action === '/account/connected-apps/revoke' && f.fields.confirm === 'yes',
      )!;
      const revoked = await browser2.post(form.action, form.fields);
      expect(revoked.status).toBe(303);
      expect(rp.received).toHaveLength(1);
      expect(await drainLogouts()).toMatchObject({ delivered: 2 });
      // Each of the user's sessions there ends: the one signed out before (whose grant still stood) and this one.
      expect(rp.received).toHaveLength(3);
      const sids = rp.received.slice(1).map((t) => decodeJwt(t).sid);
      expect(sids).toContain(sid);
      expect(new Set(sids).size).toBe(2);
      expect((await auditTypes(app.id)).map((e) => e.type)).toEqual(
        Array(3).fill('backchannel_logout.delivered'),
      );
    } finally {
      await rp.close();
    }
  });

  it('a password reset signs the user out everywhere and tells each app of each session', async () => {
    const rp = await logoutReceiver();
    try {
      const { app, secret } = await oidcApp({ backchannel_logout_uri: rp.url });
      const quiet = await oidcApp();
      const carol = await createUser(ts);
      const ctx = ts.server.services.ctx;
      // Two browsers, two sessions of carol's signed in to the app; the second one to the quiet app too.
      const sids: string[] = [];
      const second = new Browser(ts.url);
      for (const browser of [new Browser(ts.url), second])
        sids.push(decodeJwt((await tokens(app, secret, {}, browser, carol)).id_token!).sid as string);
      await tokens(quiet.app, quiet.secret, {}, second, carol);
      expect(new Set(sids).size).toBe(2);
      // Bob, signed in to the same app, is not signed out by carol's reset.
      await tokens(app, secret);
      expect(await logoutsOf(carol.user.id)).toHaveLength(0);
      let token = '';
      await requestPasswordReset(ctx, carol.email, {
        verify: (t) => t,
        reset: (t) => {
          token = t;
          return `${ts.url}/login/reset?token=${t}`;
        },
        login: `${ts.url}/login`,
        forgot: `${ts.url}/login/forgot`,
      });
      expect(token).not.toBe('');
      const othersBefore = (await logoutRows()).length;
      await resetPassword(ctx, token, 'carol has a new password 9');
      const queued = await logoutsOf(carol.user.id);
      const bySid = (a: { sid: string | null }, b: { sid: string | null }) =>
        (a.sid ?? '') < (b.sid ?? '') ? -1 : 1;
      expect([...queued].sort(bySid)).toEqual(
        sids.map((sid) => ({ app_id: app.id, user_id: carol.user.id, sid })).sort(bySid),
      );
      expect((await logoutRows()).length - queued.length).toBe(othersBefore);
      expect(
        await ctx.db.selectFrom('sessions').select('id_hash').where('user_id', '=', carol.user.id).execute(),
      ).toEqual([]);
      await drainLogouts();
      const told = rp.received.map((t) => decodeJwt(t)).filter((p) => p.sub === carol.user.id);
      expect(told.map((p) => p.sid).sort()).toEqual([...sids].sort());
      const reset = await ctx.db
        .selectFrom('audit_events')
        .select('data')
        .where('type', '=', 'user.password_reset')
        .where('actor', '=', `user:${carol.user.id}`)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(reset.data)).toMatchObject({ sessions_revoked: true, backchannel_logouts: 2 });
    } finally {
      await rp.close();
    }
  });

  it('signs out a user with more live sessions than SQLite binds parameters in one statement', async () => {
    const rp = await logoutReceiver();
    try {
      const { app, secret } = await oidcApp({ backchannel_logout_uri: rp.url });
      const erin = await createUser(ts);
      const ctx = ts.server.services.ctx;
      const sid = decodeJwt((await tokens(app, secret, {}, new Browser(ts.url), erin)).id_token!).sid;
      const now = Date.now();
      const rows = Array.from({ length: 33_000 }, (_, i) => ({
        id_hash: `bulk-${erin.user.id}-${i}`,
        user_id: erin.user.id,
        created_at: now,
        expires_at: now + 3600_000,
      }));
      for (let i = 0; i < rows.length; i += 500)
        await ctx.db
          .insertInto('sessions')
          .values(rows.slice(i, i + 500))
          .execute();
      await updateUser(ctx, await adminActor(ts), erin.user.id, { disabled: true });
      expect((await logoutsOf(erin.user.id)).map((m) => m.sid)).toEqual([sid]);
      const left = await ctx.db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', erin.user.id)
        .executeTakeFirstOrThrow();
      expect(Number(left.n)).toBe(0);
      await drainLogouts();
    } finally {
      await rp.close();
    }
  });

  it('disabling a user signs them out everywhere and tells the apps; enabling them again tells nobody', async () => {
    const rp = await logoutReceiver();
    try {
      const { app, secret } = await oidcApp({ backchannel_logout_uri: rp.url });
      const dave = await createUser(ts);
      const ctx = ts.server.services.ctx;
      const browser = new Browser(ts.url);
      const sid = decodeJwt((await tokens(app, secret, {}, browser, dave)).id_token!).sid;
      const admin = await adminActor(ts);
      await updateUser(ctx, admin, dave.user.id, { disabled: true });
      expect(await logoutsOf(dave.user.id)).toEqual([{ app_id: app.id, user_id: dave.user.id, sid }]);
      expect(
        await ctx.db.selectFrom('sessions').select('id_hash').where('user_id', '=', dave.user.id).execute(),
      ).toEqual([]);
      await drainLogouts();
      expect(rp.received.map((t) => decodeJwt(t)).filter((p) => p.sub === dave.user.id)).toHaveLength(1);
      // Disabling again, or enabling, queues nothing more.
      await updateUser(ctx, admin, dave.user.id, { disabled: true });
      await updateUser(ctx, admin, dave.user.id, { disabled: false });
      expect(await logoutsOf(dave.user.id)).toHaveLength(1);
    } finally {
      await rp.close();
    }
  });

  it('retries a failed delivery with backoff, audits the outcome, and never blocks the sign-out', async () => {
    const flaky = await logoutReceiver([500, 200]);
    const dead = await logoutReceiver([503]);
    try {
      const a = await oidcApp({ backchannel_logout_uri: flaky.url });
      const b = await oidcApp({ backchannel_logout_uri: dead.url });
      const browser = new Browser(ts.url);
      const ta = await tokens(a.app, a.secret, {}, browser);
      await tokens(b.app, b.secret, {}, browser);
      const sid = decodeJwt(ta.id_token!).sid as string;
      expect((await hubSignOut(browser)).status).toBe(303);
      expect(flaky.received).toHaveLength(0);
      const start = Date.now();
      expect(await drainLogouts(start)).toMatchObject({ delivered: 0, retried: 2 });
      // Not due again yet: the first retry waits 2.5 to 5 s.
      expect(await drainLogouts(start + 1000)).toMatchObject({ delivered: 0, retried: 0 });
      expect(await drainLogouts(start + 10 * 60_000)).toMatchObject({ delivered: 1, retried: 1 });
      expect(flaky.received).toHaveLength(2);
      expect(await auditTypes(a.app.id)).toEqual([
        { type: 'backchannel_logout.delivered', data: expect.objectContaining({ attempts: 2, sid }) },
      ]);
      // Only once retrying has run out (an hour) is the failure final, and audited.
      expect(await auditTypes(b.app.id)).toEqual([]);
      expect(await drainLogouts(start + LOGOUT_RETRY_MS + 60_000)).toMatchObject({ failed: 1 });
      expect(dead.received).toHaveLength(3);
      expect(await auditTypes(b.app.id)).toEqual([
        {
          type: 'backchannel_logout.failed',
          data: expect.objectContaining({ attempts: 3, error: 'HTTP 503', sid }),
        },
      ]);
    } finally {
      await flaky.close();
      await dead.close();
    }
  });

  it('survives a crash: a message claimed by a worker that died is delivered by a fresh worker', async () => {
    const rp = await logoutReceiver([200]);
    const services = ts.server.services;
    try {
      const { app, secret } = await oidcApp({ backchannel_logout_uri: rp.url });
      const browser = new Browser(ts.url);
      const t = await tokens(app, secret, {}, browser);
      await hubSignOut(browser);
      const [row] = (await logoutRows()).filter((r) => JSON.parse(r.payload).app_id === app.id);
      // A node claimed it and died mid-delivery: its lease still holds for a while.
      const now = Date.now();
      await services.ctx.db
        .updateTable('outbox')
        .set({ claimed_by: 'crashed-node', claimed_until: now + 15_000, attempts: 1, last_attempt_at: now })
        .where('id', '=', row!.id)
        .execute();
      // A restarted process: a fresh key store and ID token signer, its handler registered anew.
      const keys = new KeyStore(services.ctx, new SealedBox(services.config.secretKey));
      await keys.init();
      registerBackchannelLogoutHandler(new IdTokens(services.ctx, keys));
      try {
        expect(await drainLogouts(now + 1000)).toMatchObject({ delivered: 0 });
        expect(rp.received).toHaveLength(0);
        expect(await drainLogouts(now + 16_000)).toMatchObject({ delivered: 1 });
      } finally {
        registerBackchannelLogoutHandler(services.idTokens);
      }
      expect(rp.received).toHaveLength(1);
      const { payload } = await jwtVerify(rp.received[0]!, jwks(), {
        issuer: ts.url,
        audience: app.client_id,
        typ: 'logout+jwt',
      });
      expect(payload.sid).toBe(decodeJwt(t.id_token!).sid);
      expect(await auditTypes(app.id)).toEqual([
        { type: 'backchannel_logout.delivered', data: expect.objectContaining({ attempts: 2 }) },
      ]);
    } finally {
      await rp.close();
    }
  });

  it('refuses to POST to a loopback or private address unless CLAVIS_WEBHOOKS_ALLOW_PRIVATE is set', async () => {
    const rp = await logoutReceiver([200]);
    try {
      const services = ts.server.services;
      const a = await oidcApp({ backchannel_logout_uri: rp.url });
      const browser = new Browser(ts.url);
      await tokens(a.app, a.secret, {}, browser);
      await hubSignOut(browser);
      // The server as deployed: the flag unset.
      const ctx = { ...services.ctx, config: { ...services.ctx.config, webhooksAllowPrivate: false } };
      expect(await drainLogouts(undefined, ctx)).toMatchObject({ failed: 1 });
      expect(rp.received).toHaveLength(0);
      const [audit] = await auditTypes(a.app.id);
      expect(audit).toEqual({
        type: 'backchannel_logout.failed',
        // Refused before connecting, and not retried: http, and a loopback address (the webhooks' rule).
        data: expect.objectContaining({ attempts: 1, error: 'The URL must use https.' }),
      });
    } finally {
      await rp.close();
    }
  });
});

function oauthAtHash(accessToken: string, hash: 'sha256' | 'sha512'): string {
  const d = createHash(hash).update(accessToken).digest();
  return d.subarray(0, d.length / 2).toString('base64url');
}
