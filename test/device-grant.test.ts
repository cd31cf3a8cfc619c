import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../src/domain/apis.js';
import { DEVICE_CODE_GRANT } from '../src/domain/app-fields.js';
import { requestAppPermission } from '../src/domain/app-permissions.js';
import type { App } from '../src/domain/apps.js';
import { USER_CODE_ALPHABET } from '../src/domain/device-codes.js';
import { Browser, type Page, parseForms } from './helpers/browser.js';
import { apiMe, token } from './helpers/flow.js';
import {
  adminActor,
  basicAuth,
  createTestApp,
  postForm,
  startTestServer,
  type TestServer,
} from './helpers/server.js';
import { createTenant, createUser, type TestUser } from './helpers/users.js';

/**
 * The device authorization grant (RFC 8628) over HTTP: the device authorization endpoint, the verification
 * page (sign-in, code, consent, CSRF, throttling), and the token endpoint's polling answers.
 */
let ts: TestServer;
let offset = 0;
let pub: { app: App; secret: string | null };
let conf: { app: App; secret: string | null };
let plain: { app: App; secret: string | null };
let user: TestUser;

beforeAll(async () => {
  ts = await startTestServer({ now: () => Date.now() + offset });
  pub = await createTestApp(ts, {
    client_type: 'public',
    callback_url: 'http://127.0.0.1/callback',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
  });
  conf = await createTestApp(ts, {
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT],
  });
  plain = await createTestApp(ts);
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

async function deviceAuthorization(
  app: App,
  secret: string | null,
  body: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  const form = { ...body };
  if (secret) headers.authorization = basicAuth(app.client_id, secret);
  else form.client_id = app.client_id;
  return postForm(`${ts.url}/oauth/device_authorization`, form, headers);
}

const poll = (app: App, secret: string | null, deviceCode: string) =>
  token(ts, app, secret, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode });

/** Lets the clock pass the polling interval, so the next poll is not `slow_down`. */
const wait = (seconds: number) => {
  offset += seconds * 1000;
};

/** A browser signed in as `who`. */
async function signedIn(who: TestUser = user): Promise<Browser> {
  const b = new Browser(ts.url);
  const login = await b.get('/login');
  const r = await b.submit(login, '/login', { email: who.email, password: who.password });
  expect(r.status).toBe(303);
  expect(r.location).not.toMatch(/^\/login/);
  return b;
}

/** Opens the verification page with a code and answers allow or deny. */
async function decide(b: Browser, userCode: string, decision: 'allow' | 'deny'): Promise<Page> {
  const page = await b.get(`/device?user_code=${encodeURIComponent(userCode)}`);
  expect(page.status).toBe(200);
  const done = await b.submit(page, '/device/decision', {}, decision);
  expect(done.status).toBe(303);
  return done;
}

describe('device authorization endpoint', () => {
  it('is in the discovery document, with the device grant', async () => {
    const meta = await (await fetch(`${ts.url}/.well-known/oauth-authorization-server`)).json();
    expect(meta.device_authorization_endpoint).toBe(`${ts.url}/oauth/device_authorization`);
    expect(meta.grant_types_supported).toContain(DEVICE_CODE_GRANT);
  });

  it('answers a device code, a XXXX-XXXX user code, the verification URIs, expires_in 600 and interval 5', async () => {
    const r = await deviceAuthorization(pub.app, null, { scope: 'contacts:read' });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.json).toMatchObject({
      verification_uri: `${ts.url}/device`,
      expires_in: 600,
      interval: 5,
    });
    expect(r.json.user_code).toMatch(new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`));
    expect(r.json.verification_uri_complete).toBe(
      `${ts.url}/device?user_code=${encodeURIComponent(r.json.user_code)}`,
    );
    expect(Buffer.from(r.json.device_code, 'base64url').length).toBeGreaterThanOrEqual(32);
    // Hashed at rest: neither code is stored as it is.
    const rows = await ts.server.services.ctx.db.selectFrom('device_codes').selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(r.json.device_code);
    expect(stored).not.toContain(r.json.user_code.replace('-', ''));
    expect(stored).not.toContain(r.json.user_code);
  });

  it('authenticates confidential clients like the token endpoint', async () => {
    expect((await deviceAuthorization(conf.app, conf.secret)).status).toBe(200);
    const wrong = await deviceAuthorization(conf.app, 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid_client');
    // A confidential client can't get one with its client_id alone.
    const bare = await postForm(`${ts.url}/oauth/device_authorization`, { client_id: conf.app.client_id });
    expect(bare.status).toBe(401);
    expect(bare.json.error).toBe('invalid_client');
    const none = await postForm(`${ts.url}/oauth/device_authorization`, {});
    expect(none.json.error).toBe('invalid_client');
  });

  it('refuses apps without the device grant, scopes beyond the app, unknown resources and GET', async () => {
    const r = await deviceAuthorization(plain.app, plain.secret);
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('unauthorized_client');
    const scope = await deviceAuthorization(pub.app, null, { scope: 'clavis:admin' });
    expect(scope.json.error).toBe('invalid_scope');
    const malformed = await deviceAuthorization(pub.app, null, { scope: 'a"b' });
    expect(malformed.json.error).toBe('invalid_scope');
    const resource = await deviceAuthorization(pub.app, null, { resource: 'https://elsewhere.example/' });
    expect(resource.json.error).toBe('invalid_target');
    const get = await fetch(`${ts.url}/oauth/device_authorization`);
    expect(get.status).toBe(405);
    const json = await postForm(`${ts.url}/oauth/device_authorization`, '{}', {
      'content-type': 'application/json',
    });
    expect(json.status).toBe(400);
    expect(json.json.error).toBe('invalid_request');
  });
});

describe('device code grant', () => {
  it('pending, approved in the browser, then tokens once; the grant shows under Connected apps', async () => {
    const start = await deviceAuthorization(pub.app, null, { scope: 'contacts:read profile:read' });
    const pending = await poll(pub.app, null, start.json.device_code);
    expect(pending.status).toBe(400);
    expect(pending.json.error).toBe('authorization_pending');

    const b = new Browser(ts.url);
    // Not signed in: the sign-in form, which returns to the verification page with the code.
    const first = await b.get(`/device?user_code=${start.json.user_code}`);
    const login = parseForms(first.html).find((f) => f.action === '/login');
    expect(login?.fields.return_to).toBe(`/device?user_code=${start.json.user_code}`);
    const back = await b.submit(first, '/login', { email: user.email, password: user.password });
    expect(back.location).toBe(`/device?user_code=${start.json.user_code}`);
    const confirm = await b.get(back.location as string);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain(pub.app.name);
    expect(confirm.html).toContain('contacts:read');
    expect(confirm.html).toContain(start.json.user_code);
    const done = await b.submit(confirm, '/device/decision', {}, 'allow');
    expect(done.location).toBe('/device?done=approved');
    expect((await b.get(done.location as string)).html).toContain('Device connected');

    wait(5);
    const r = await poll(pub.app, null, start.json.device_code);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.json.token_type).toBe('Bearer');
    expect(r.json.scope).toBe('contacts:read profile:read');
    expect(typeof r.json.refresh_token).toBe('string');
    const claims = decodeJwt(r.json.access_token);
    expect(claims).toMatchObject({
      sub: user.user.id,
      client_id: pub.app.client_id,
      tid: user.user.tenant_id,
    });
    expect(typeof claims.gid).toBe('string');
    expect(await apiMe(ts, r.json.access_token)).toBe(200);

    // Single redemption.
    wait(5);
    const again = await poll(pub.app, null, start.json.device_code);
    expect(again.status).toBe(400);
    expect(again.json.error).toBe('invalid_grant');

    // The refresh token works (refresh_token is among the app's grant types).
    const refreshed = await token(ts, pub.app, null, {
      grant_type: 'refresh_token',
      refresh_token: r.json.refresh_token,
    });
    expect(refreshed.status).toBe(200);

    const connected = await b.get('/account/connected-apps');
    expect(connected.html).toContain(pub.app.name);
  });

  it('a confidential client polls with its secret, and another client cannot use the device code', async () => {
    const start = await deviceAuthorization(conf.app, conf.secret);
    await decide(await signedIn(), start.json.user_code, 'allow');
    const stolen = await poll(pub.app, null, start.json.device_code);
    expect(stolen.json.error).toBe('invalid_grant');
    const noSecret = await postForm(`${ts.url}/oauth/token`, {
      grant_type: DEVICE_CODE_GRANT,
      device_code: start.json.device_code,
      client_id: conf.app.client_id,
    });
    expect(noSecret.json.error).toBe('invalid_client');
    const r = await poll(conf.app, conf.secret, start.json.device_code);
    expect(r.status).toBe(200);
  });

  it('access_denied after the user denies', async () => {
    const start = await deviceAuthorization(pub.app, null);
    const done = await decide(await signedIn(), start.json.user_code, 'deny');
    expect(done.location).toBe('/device?done=denied');
    const r = await poll(pub.app, null, start.json.device_code);
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('access_denied');
  });

  it('slow_down when polling sooner than the interval, which grows by 5 s and is remembered', async () => {
    const start = await deviceAuthorization(pub.app, null);
    const code = start.json.device_code;
    expect((await poll(pub.app, null, code)).json.error).toBe('authorization_pending');
    const fast = await poll(pub.app, null, code);
    expect(fast.json.error).toBe('slow_down');
    expect(fast.json.interval).toBe(10);
    // 6 s later is enough for the old interval, not for the new one.
    wait(6);
    const still = await poll(pub.app, null, code);
    expect(still.json.error).toBe('slow_down');
    expect(still.json.interval).toBe(15);
    wait(15);
    expect((await poll(pub.app, null, code)).json.error).toBe('authorization_pending');
    const row = await ts.server.services.ctx.db
      .selectFrom('device_codes')
      .select('interval_s')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    expect(Number(row.interval_s)).toBeGreaterThanOrEqual(15);
  });

  it('expired_token after 10 minutes; an expired code can no longer be approved', async () => {
    const start = await deviceAuthorization(pub.app, null);
    wait(601);
    const r = await poll(pub.app, null, start.json.device_code);
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('expired_token');
    const page = await (await signedIn()).get(`/device?user_code=${start.json.user_code}`);
    expect(page.status).toBe(400);
    expect(page.html).toContain('not valid');
  });

  it('a code approved just before it expires is not redeemable after', async () => {
    const start = await deviceAuthorization(pub.app, null);
    wait(590);
    await decide(await signedIn(), start.json.user_code, 'allow');
    wait(11);
    expect((await poll(pub.app, null, start.json.device_code)).json.error).toBe('expired_token');
  });

  it('concurrent polls of an approved code get exactly one set of tokens', async () => {
    const start = await deviceAuthorization(pub.app, null);
    await decide(await signedIn(), start.json.user_code, 'allow');
    wait(5);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => poll(pub.app, null, start.json.device_code)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.json.error).toBe('invalid_grant');
    const grants = await ts.server.services.ctx.db
      .selectFrom('grants')
      .select('id')
      .where('client_id', '=', pub.app.client_id)
      .where('created_at', '>=', Date.now() + offset - 10_000)
      .execute();
    expect(grants).toHaveLength(1);
  });

  it('bad token requests: missing or unknown device_code, an app without the grant', async () => {
    const missing = await token(ts, pub.app, null, { grant_type: DEVICE_CODE_GRANT });
    expect(missing.json.error).toBe('invalid_request');
    const unknown = await poll(pub.app, null, 'x'.repeat(43));
    expect(unknown.json.error).toBe('invalid_grant');
    const long = await poll(pub.app, null, 'x'.repeat(2000));
    expect(long.json.error).toBe('invalid_grant');
    const twice = await postForm(
      `${ts.url}/oauth/token`,
      `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=a&device_code=b&client_id=${pub.app.client_id}`,
    );
    expect(twice.status).toBe(400);
    expect(twice.json.error).toBe('invalid_request');
    const noGrant = await poll(plain.app, plain.secret, 'x'.repeat(43));
    expect(noGrant.status).toBe(400);
    expect(noGrant.json.error).toBe('unauthorized_client');
  });

  it('resource= a custom API: the page shows its scopes under its name, the token is for it (aud, TTL, scopes), refresh keeps it', async () => {
    const admin = await adminActor(ts);
    const ctx = ts.server.services.ctx;
    const api = await createApi(
      ctx,
      admin,
      {
        identifier: 'https://tv.example/api',
        name: 'TV API',
        description: '',
        scopes: [
          { name: 'channels:read', description: 'See your channels', admin_consent_required: false },
          { name: 'channels:write', description: 'Change your channels', admin_consent_required: false },
        ],
        access_token_ttl: 120,
      },
      { tenantId: pub.app.tenant_id },
    );
    await requestAppPermission(ctx, admin, pub.app.id, api.id, ['channels:read', 'channels:write']);

    // A scope of another API is not this API's: invalid_scope, as at the authorization endpoint.
    const wrong = await deviceAuthorization(pub.app, null, {
      resource: api.identifier,
      scope: 'contacts:read',
    });
    expect(wrong.json.error).toBe('invalid_scope');
    // Two different APIs in one request: one audience per token.
    const two = await deviceAuthorization(pub.app, null, {
      resource: api.identifier,
      audience: 'https://elsewhere.example/',
    });
    expect(two.json.error).toBe('invalid_target');

    const start = await deviceAuthorization(pub.app, null, {
      resource: api.identifier,
      scope: 'channels:read',
    });
    expect(start.status).toBe(200);
    const b = await signedIn();
    const page = await b.get(`/device?user_code=${encodeURIComponent(start.json.user_code)}`);
    expect(page.html).toContain('TV API');
    expect(page.html).toContain('See your channels');
    expect(page.html).not.toContain('Change your channels');
    await b.submit(page, '/device/decision', {}, 'allow');
    wait(5);
    const r = await poll(pub.app, null, start.json.device_code);
    expect(r.status).toBe(200);
    expect(r.json.scope).toBe('channels:read');
    expect(r.json.expires_in).toBe(120);
    const claims = decodeJwt(r.json.access_token);
    expect(claims.aud).toBe(api.identifier);
    expect(claims.scope).toBe('channels:read');
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);

    // The refresh grant keeps the grant's API.
    const refreshed = await token(ts, pub.app, null, {
      grant_type: 'refresh_token',
      refresh_token: r.json.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.json.access_token).aud).toBe(api.identifier);
    expect(refreshed.json.scope).toBe('channels:read');
  });

  it('an app without the refresh grant gets no refresh token', async () => {
    const noRefresh = await createTestApp(ts, {
      client_type: 'public',
      callback_url: 'http://127.0.0.1/callback',
      grant_types: ['authorization_code', DEVICE_CODE_GRANT],
    });
    const start = await deviceAuthorization(noRefresh.app, null, { scope: 'contacts:read' });
    const b = await signedIn();
    await decide(b, start.json.user_code, 'allow');
    wait(5);
    const r = await poll(noRefresh.app, null, start.json.device_code);
    expect(r.status).toBe(200);
    expect(r.json.access_token).toBeTypeOf('string');
    expect(r.json.refresh_token).toBeUndefined();
  });

  it('users who may not authorize the app are refused on the page', async () => {
    const other = await createUser(ts, { tenantId: (await createTenant(ts)).id });
    const start = await deviceAuthorization(pub.app, null);
    const b = await signedIn(other);
    const page = await b.get(`/device?user_code=${start.json.user_code}`);
    expect(page.status).toBe(403);
    expect(parseForms(page.html).some((f) => f.action === '/device/decision')).toBe(false);
    expect((await poll(pub.app, null, start.json.device_code)).json.error).toBe('authorization_pending');
  });
});

describe('verification page', () => {
  it('accepts the code in any case, with or without the dash', async () => {
    const start = await deviceAuthorization(pub.app, null);
    const b = await signedIn();
    const typed = start.json.user_code.replace('-', '').toLowerCase();
    const form = await b.get('/device');
    expect(parseForms(form.html).some((f) => f.action === '/device' && f.method === 'get')).toBe(true);
    const page = await b.get(
      `/device?user_code=${encodeURIComponent(` ${typed.slice(0, 3)}-${typed.slice(3)} `)}`,
    );
    expect(page.status).toBe(200);
    expect(page.html).toContain(start.json.user_code);
  });

  it('bad input on the page is a clear answer, never a 5xx', async () => {
    const b = await signedIn();
    const long = await b.get(`/device?user_code=${'B'.repeat(1000)}`);
    expect(long.status).toBe(400);
    expect(long.html).toContain('not valid');
    const repeated = await b.get('/device?user_code=BCDF-GHJK&user_code=BCDF-GHJK');
    expect(repeated.status).toBeLessThan(500);
    const garbled = await b.post('/device/decision', 'csrf=%E0%A4%A&user_code=%');
    expect(garbled.status).toBe(303);
    expect((await b.follow(garbled)).status).toBe(400);
  });

  it('the decision needs the session and its CSRF token', async () => {
    const start = await deviceAuthorization(pub.app, null);
    const b = await signedIn();
    const page = await b.get(`/device?user_code=${start.json.user_code}`);
    const forged = await b.post('/device/decision', {
      user_code: start.json.user_code,
      decision: 'allow',
      csrf: 'forged',
    });
    // Redirect after POST, failures included: the page shows the refusal once, with its status.
    expect(forged.status).toBe(303);
    const refused = await b.follow(forged);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('out of date');
    expect(parseForms(refused.html).some((f) => f.action === '/device')).toBe(true);
    expect((await b.get(forged.location!)).status).toBe(200);
    const stranger = new Browser(ts.url);
    const anonymous = await stranger.post('/device/decision', {
      ...parseForms(page.html).find((f) => f.action === '/device/decision')?.fields,
      decision: 'allow',
    });
    expect(anonymous.status).toBe(303);
    const signIn = await stranger.follow(anonymous);
    expect(signIn.status).toBe(401);
    expect(signIn.html).toContain('session has ended');
    expect(parseForms(signIn.html).find((f) => f.action === '/login')?.fields.return_to).toBe('/device');
    expect((await poll(pub.app, null, start.json.device_code)).json.error).toBe('authorization_pending');
    // A code is decided once.
    await b.submit(page, '/device/decision', {}, 'allow');
    const twice = await b.submit(page, '/device/decision', {}, 'deny');
    expect(twice.location).toBe('/device?error=invalid');
  });

  it('throttles wrong codes per session, then per address', async () => {
    const start = await deviceAuthorization(pub.app, null);
    const wrong = 'BBBB-BBBB';
    const a = await signedIn();
    for (let i = 0; i < 10; i++) expect((await a.get(`/device?user_code=${wrong}`)).status).toBe(400);
    // The session is throttled: even the right code is not checked.
    const blocked = await a.get(`/device?user_code=${start.json.user_code}`);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another session from the same address still may, until the address's limit.
    const b = await signedIn();
    expect((await b.get(`/device?user_code=${start.json.user_code}`)).status).toBe(200);
    for (let i = 0; i < 10; i++) await b.get(`/device?user_code=${wrong}`);
    const c = await signedIn();
    expect((await c.get(`/device?user_code=${start.json.user_code}`)).status).toBe(429);
    const post = await c.post('/device/decision', {
      user_code: start.json.user_code,
      decision: 'allow',
      csrf: 'x',
    });
    expect((await c.follow(post)).status).toBe(403);
    // The window passes.
    wait(15 * 60 + 1);
    const fresh = await deviceAuthorization(pub.app, null);
    expect((await c.get(`/device?user_code=${fresh.json.user_code}`)).status).toBe(200);
    // Answering a wrong or throttled code is not an error of the server's: nothing at level error (50) or
    // above (a Fastify reply returned from an async helper once resolved to undefined, and each wrong code
    // logged a TypeError after its answer had gone).
    const errors = ts.logs.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });
});
