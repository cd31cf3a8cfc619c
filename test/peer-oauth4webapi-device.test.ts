import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT } from '../src/domain/app-fields.js';
import { Browser } from './helpers/browser.js';
import { createTestApp, startTestServer, type TestServer } from './helpers/server.js';
import { createUser, type TestUser } from './helpers/users.js';

/**
 * oauth4webapi's device flow (RFC 8628) against Clavis over HTTP: `deviceAuthorizationRequest`,
 * `processDeviceAuthorizationResponse`, `deviceCodeGrantRequest` and `processDeviceCodeResponse` (strict
 * parsing of every response), with the user's approval driven through the verification page by fetch and a
 * cookie jar. test/e2e/device.test.ts does the same in Chromium.
 */
let ts: TestServer;
let offset = 0;
let as: oauth.AuthorizationServer;
let user: TestUser;
const opts = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  ts = await startTestServer({ now: () => Date.now() + offset });
  const issuer = new URL(ts.url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }),
  );
  user = await createUser(ts);
});
afterAll(async () => ts?.close());

async function approve(userCode: string, decision: 'allow' | 'deny' = 'allow') {
  const b = new Browser(ts.url);
  const first = await b.get(`/device?user_code=${encodeURIComponent(userCode)}`);
  const back = await b.submit(first, '/login', { email: user.email, password: user.password });
  const confirm = await b.get(back.location!);
  const done = await b.submit(confirm, '/device/decision', {}, decision);
  expect(done.status).toBe(303);
}

describe('oauth4webapi device flow against Clavis', () => {
  it('discovers the device authorization endpoint', () => {
    expect(as.device_authorization_endpoint).toBe(`${ts.url}/oauth/device_authorization`);
    expect(as.grant_types_supported).toContain(DEVICE_CODE_GRANT);
  });

  for (const kind of ['public', 'confidential'] as const)
    it(`completes for a ${kind} client after the user approves`, async () => {
      const { app, secret } = await createTestApp(ts, {
        client_type: kind,
        callback_url: kind === 'public' ? 'http://127.0.0.1/cb' : 'https://app.example/cb',
        grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
      });
      const client: oauth.Client = { client_id: app.client_id };
      const auth = kind === 'public' ? oauth.None() : oauth.ClientSecretBasic(secret!);
      const started = await oauth.processDeviceAuthorizationResponse(
        as,
        client,
        await oauth.deviceAuthorizationRequest(as, client, auth, { scope: 'contacts:read' }, opts),
      );
      expect(started.interval).toBe(5);
      expect(started.expires_in).toBe(600);
      expect(started.verification_uri).toBe(`${ts.url}/device`);

      const pending = await oauth
        .processDeviceCodeResponse(
          as,
          client,
          await oauth.deviceCodeGrantRequest(as, client, auth, started.device_code, opts),
        )
        .catch((e) => e);
      expect(pending).toBeInstanceOf(oauth.ResponseBodyError);
      expect(pending.error).toBe('authorization_pending');

      await approve(started.user_code);
      offset += started.interval! * 1000;
      const tokens = await oauth.processDeviceCodeResponse(
        as,
        client,
        await oauth.deviceCodeGrantRequest(as, client, auth, started.device_code, opts),
      );
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('contacts:read');
      expect(tokens.refresh_token).toBeTruthy();
      const claims = await oauth.validateJwtAccessToken(
        as,
        new Request(`${ts.url}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
        `${ts.url}/api`,
        opts,
      );
      expect(claims).toMatchObject({ sub: user.user.id, client_id: app.client_id });

      // Redeemed once.
      offset += 5000;
      const again = await oauth
        .processDeviceCodeResponse(
          as,
          client,
          await oauth.deviceCodeGrantRequest(as, client, auth, started.device_code, opts),
        )
        .catch((e) => e);
      expect(again.error).toBe('invalid_grant');
    });

  it('reports access_denied when the user denies, and slow_down when polled too fast', async () => {
    const { app } = await createTestApp(ts, {
      client_type: 'public',
      callback_url: 'http://127.0.0.1/cb',
      grant_types: [DEVICE_CODE_GRANT],
    });
    const client: oauth.Client = { client_id: app.client_id };
    const started = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(as, client, oauth.None(), {}, opts),
    );
    const poll = async () =>
      oauth
        .processDeviceCodeResponse(
          as,
          client,
          await oauth.deviceCodeGrantRequest(as, client, oauth.None(), started.device_code, opts),
        )
        .catch((e) => e);
    expect((await poll()).error).toBe('authorization_pending');
    expect((await poll()).error).toBe('slow_down');
    await approve(started.user_code, 'deny');
    expect((await poll()).error).toBe('access_denied');
  });
});
