import { createHash, randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startTestServer, type TestServer } from '../helpers/server.js';
import { createUser } from '../helpers/users.js';
import { DESKTOP, launch, shot, watchConsole } from './browser.js';

/**
 * What a person sees in Chromium when a change to an approved public app needs review again (asked first,
 * then held for review while the approved version stays live, and withdrawn), and when they allow an app and later revoke it (listed at once, revoking asks first).
 */
let ts: TestServer;
let browser: Browser;

beforeAll(async () => {
  [ts, browser] = await Promise.all([startTestServer(), launch()]);
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
});

async function newPage(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: ts.url, colorScheme: 'light' });
  const page = await context.newPage();
  return { page, problems: watchConsole(page), close: () => context.close() };
}

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('an approved public app: adding a scope asks first, then the change awaits review', () => {
  it('Cancel keeps the app as it is; saving keeps it approved with the change awaiting review; the owner withdraws it', async () => {
    const dev = await createUser(ts, { role: 'admin' });
    const { app } = await createTestApp(
      ts,
      {
        name: 'Listed in Chromium',
        visibility: 'public',
        callback_url: 'https://listed.acme-corp.io/cb',
        scopes: ['profile:read'],
        default_scopes: ['profile:read'],
      },
      { status: 'approved' },
    );
    const { page, problems, close } = await newPage();
    await page.goto('/login');
    await signIn(page, dev.email, dev.password);
    await page.goto(`/apps/${app.id}/oauth`);
    const contacts = page.locator('input[name="scopes"][value="contacts:read"]');
    await contacts.check();
    await page.getByRole('button', { name: 'Save scopes' }).click();
    await page.getByRole('heading', { name: 'This change needs review' }).waitFor();
    await page.getByText('the approved version stays live').first().waitFor();
    await expect(page.getByText('added scopes (contacts:read)').first().isVisible()).resolves.toBe(true);
    await shot(page, 'review-again-confirm');
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL(`**/apps/${app.id}/oauth`);
    await expect(page.locator('input[name="scopes"][value="contacts:read"]').isChecked()).resolves.toBe(
      false,
    );

    await page.locator('input[name="scopes"][value="contacts:read"]').check();
    await page.getByRole('button', { name: 'Save scopes' }).click();
    await page.getByRole('button', { name: 'Save and send the change for review' }).click();
    await page.getByText('Scopes saved. The change awaits review').waitFor();
    await page.getByRole('link', { name: 'Basic info' }).click();
    await page.getByRole('heading', { name: 'Change awaiting review' }).waitFor();
    await page.getByText('Approved: users of every tenant can authorize this app.').waitFor();
    await shot(page, '24-change-awaiting-review', { docs: true });
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page
      .getByText('Changing scopes (added contacts:read) waits for review; the approved version stays live')
      .waitFor();
    await page.getByRole('link', { name: 'Basic info' }).click();
    await page.getByRole('button', { name: 'Withdraw change' }).click();
    await page.getByText('The change was withdrawn. The approved version is unchanged.').waitFor();
    await expect(page.getByRole('heading', { name: 'Change awaiting review' }).count()).resolves.toBe(0);
    expect(problems).toEqual([]);
    await close();
  });
});

describe('consent: the redirect host, listed at once, revoking asks first', () => {
  it('allow, see the app under Connected apps before any code is redeemed, revoke after confirming', async () => {
    const { app } = await createTestApp(ts, {
      name: 'Allowed in Chromium',
      callback_url: 'https://allowed.acme-corp.io/cb',
      scopes: ['profile:read'],
      default_scopes: ['profile:read'],
    });
    const user = await createUser(ts);
    const { page, problems, close } = await newPage();
    // The app's callback is not a real server: answer it here, never redeeming the code.
    await page.route('https://allowed.acme-corp.io/**', (r) =>
      r.fulfill({
        status: 200,
        contentType: 'text/html',
        body: '<title>Callback</title><p>back at the app</p>',
      }),
    );
    const verifier = randomBytes(32).toString('base64url');
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: app.callback_url,
      state: 's1',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    await page.goto(`/oauth/authorize?${q}`);
    await signIn(page, user.email, user.password);
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await expect(page.locator('#redirect-target').textContent()).resolves.toContain(
      'you will be sent back to allowed.acme-corp.io',
    );
    await shot(page, 'consent-redirect-host');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL('https://allowed.acme-corp.io/cb?**');

    await page.goto('/account/connected-apps');
    await page
      .getByRole('cell', { name: /Allowed in Chromium/ })
      .first()
      .waitFor();
    await page.getByRole('button', { name: /Revoke/ }).click();
    await page.getByRole('heading', { name: 'Revoke access for Allowed in Chromium?' }).waitFor();
    await shot(page, 'connected-apps-revoke-confirm');
    await page.getByRole('button', { name: 'Revoke access', exact: true }).click();
    await page.getByText('Access revoked.').waitFor();
    await page.getByText('You have not authorized any apps.').waitFor();

    // The consent is gone: the next request asks again.
    await page.goto(`/oauth/authorize?${q}`);
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    expect(problems).toEqual([]);
    await close();
  });
});
