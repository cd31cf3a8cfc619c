import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT } from '../../src/domain/app-fields.js';
import { createTestApp, startTestServer, type TestServer } from '../helpers/server.js';
import { createUser } from '../helpers/users.js';
import { DESKTOP, launch, PHONE, shot, watchConsole } from './browser.js';

/**
 * The device grant (RFC 8628) as a person does it: oauth4webapi starts a device authorization, the user opens
 * the verification page in Chromium (on a phone-sized screen), signs in, types the code in lower case without
 * the dash, sees the app and its scopes, and allows it; oauth4webapi's poll then gets the tokens.
 */
let ts: TestServer;
let browser: Browser;
let offset = 0;
const opts = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  [ts, browser] = await Promise.all([startTestServer({ now: () => Date.now() + offset }), launch()]);
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
});

describe('device authorization in the browser', () => {
  it('oauth4webapi completes the device flow after the user approves on the verification page', async () => {
    const user = await createUser(ts);
    const { app } = await createTestApp(ts, {
      name: 'Living-room TV',
      client_type: 'public',
      callback_url: 'http://127.0.0.1/cb',
      scopes: ['contacts:read', 'profile:read'],
      default_scopes: ['contacts:read', 'profile:read'],
      grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
    });
    const issuer = new URL(ts.url);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }),
    );
    const client: oauth.Client = { client_id: app.client_id };
    const started = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(as, client, oauth.None(), {}, opts),
    );
    const poll = async () =>
      oauth.processDeviceCodeResponse(
        as,
        client,
        await oauth.deviceCodeGrantRequest(as, client, oauth.None(), started.device_code, opts),
      );
    await expect(poll()).rejects.toMatchObject({ error: 'authorization_pending' });

    const context = await browser.newContext({ viewport: PHONE, baseURL: ts.url, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(started.verification_uri);
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
    await shot(page, 'device-code');
    await page.getByLabel('Code').fill(started.user_code.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: /Living-room TV wants to access/ }).waitFor();
    expect(await page.locator('#device-user-code').textContent()).toBe(started.user_code);
    expect(await page.getByText('contacts:read').isVisible()).toBe(true);
    await shot(page, 'device-confirm');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    expect(problems).toEqual([]);
    await context.close();

    offset += (started.interval ?? 5) * 1000;
    const tokens = await poll();
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope).toBe('contacts:read profile:read');
  });

  it('a mistyped code says so, and Deny ends the device flow with access_denied', async () => {
    const user = await createUser(ts);
    const { app } = await createTestApp(ts, {
      client_type: 'public',
      callback_url: 'http://127.0.0.1/cb',
      grant_types: [DEVICE_CODE_GRANT],
    });
    const issuer = new URL(ts.url);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oauth2' }),
    );
    const client: oauth.Client = { client_id: app.client_id };
    const started = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(as, client, oauth.None(), {}, opts),
    );
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: ts.url, colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto('/device');
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code').fill('BBBB-BBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('That code is not valid').waitFor();
    // The verification_uri_complete link carries the code: only the confirmation is left.
    await page.goto(started.verification_uri_complete!);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Device denied' }).waitFor();
    await context.close();
    offset += 5000;
    await expect(
      oauth.processDeviceCodeResponse(
        as,
        client,
        await oauth.deviceCodeGrantRequest(as, client, oauth.None(), started.device_code, opts),
      ),
    ).rejects.toMatchObject({ error: 'access_denied' });
  });
});
