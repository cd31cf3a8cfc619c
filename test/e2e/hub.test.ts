import { createHash, randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, postForm, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant, createUser } from '../helpers/users.js';
import { DESKTOP, launch, PHONE, shot, watchConsole } from './browser.js';

/**
 * The developer hub in real headless Chromium: the private-app path (sign up → app → secret shown once →
 * token → refresh → only the hint after reload) and the public-app path (submit → approval → a user of
 * another tenant authorizes it). Screenshots of each main page go to test-output/screenshots.
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

const token = (clientId: string, secret: string) =>
  postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuth(clientId, secret) },
  );

async function newPage(
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, baseURL: ts.url, colorScheme: 'light' });
  const page = await context.newPage();
  return { context, page, problems: watchConsole(page) };
}

async function signUp(page: Page, name: string, email: string, screenshot = false) {
  await page.goto('/signup');
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill('a long password 123');
  if (screenshot) await shot(page, '01-signup', { docs: true });
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Your sandbox is ready' }).waitFor();
  if (screenshot) await shot(page, '02-sandbox-ready', { docs: true });
  await page.getByRole('link', { name: 'Continue to your apps' }).click();
  await page.getByRole('heading', { name: 'Owned applications' }).waitFor();
}

describe('private app: secret shown once, token, refresh, reload', () => {
  it('runs the whole path in Chromium', async () => {
    const { context, page, problems } = await newPage();
    await signUp(page, 'Grace Hopper', `grace-${randomBytes(3).toString('hex')}@example.org`, true);
    await shot(page, '03-apps-empty');

    await page.getByRole('link', { name: 'Create an app' }).click();
    await page.getByLabel('App name').fill('Invoice Sync');
    await page.getByLabel(/Private/).check();
    await page.getByLabel(/Confidential/).check();
    await page.getByLabel(/OAuth callback URL/).fill('http://localhost:3000/callback');
    await shot(page, '04-create-app', { docs: true });
    await page.getByRole('button', { name: 'Save' }).click();

    // Straight to "OAuth & access scopes", the first secret in a dialog.
    const registered = page.getByRole('alertdialog', { name: 'Your app is registered' });
    await registered.waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/apps\/[0-9a-f-]{36}\/oauth$/);
    const firstValue = await registered.getByLabel('Client secret value').inputValue();
    await registered.getByRole('link', { name: 'I have copied the secret' }).click();
    await page.getByRole('heading', { name: 'Client secrets' }).waitFor();
    const clientId = (await page.locator('#client-id').textContent())!.trim();
    expect(clientId).toMatch(/^[0-9a-f]{32}$/);
    expect(await page.content()).not.toContain(firstValue);

    // "New client secret": description and expiry, then the value once.
    await page.getByRole('button', { name: 'New client secret' }).click();
    const form = page.getByRole('dialog', { name: 'New client secret' });
    await form.getByLabel('Description').fill('Production server');
    await form.getByLabel('Expires', { exact: true }).selectOption('12');
    await shot(page, '05-new-secret-form', { fullPage: false });
    await form.getByRole('button', { name: 'Add secret' }).click();
    const created = page.getByRole('alertdialog', { name: 'Client secret created' });
    await created.waitFor();
    await expect.poll(() => created.getByText('It will not be shown again').count()).toBe(1);
    const value = await created.getByLabel('Client secret value').inputValue();
    expect(value).toMatch(/^[0-9A-Za-z]{3}_clavis_[0-9A-Za-z]{49}$/);
    await expect.poll(() => created.getByRole('button', { name: /Copy/ }).isVisible()).toBe(true);
    await shot(page, '06-secret-shown-once', { docs: true, fullPage: false });
    expect(new URL(page.url()).search).toBe('');

    // The value works at the token endpoint.
    expect((await token(clientId, value)).status).toBe(200);

    // Close the dialog: the value is gone from the page.
    await created.getByRole('link', { name: 'I have copied the secret' }).click();
    await page.getByRole('heading', { name: 'Client secrets' }).waitFor();
    expect(await page.content()).not.toContain(value);
    const row = page.getByRole('row').filter({ hasText: 'Production server' });
    expect((await row.locator('td[data-label=Value]').textContent())?.trim()).toBe(
      `${value.slice(0, 3)}•••••`,
    );
    await shot(page, '07-oauth-tab', { docs: true });

    // "Refresh": a confirmation, then the new value once; the old one is refused.
    await row.getByRole('button', { name: /Refresh/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Refresh this client secret?' });
    await confirm.waitFor();
    await shot(page, '08-refresh-confirm', { docs: true, fullPage: false });
    await confirm.getByRole('button', { name: 'Generate new client secret' }).click();
    const refreshed = page.getByRole('alertdialog', { name: 'New client secret generated' });
    await refreshed.waitFor();
    const next = await refreshed.getByLabel('Client secret value').inputValue();
    expect(next).not.toBe(value);
    expect((await token(clientId, value)).status).toBe(401);
    expect((await token(clientId, next)).status).toBe(200);

    // Reload: only the hint, the value is nowhere in the page.
    await page.reload();
    await page.getByRole('heading', { name: 'Client secrets' }).waitFor();
    const html = await page.content();
    expect(html).not.toContain(next);
    expect(html).not.toContain(value);
    expect(html).toContain(`${next.slice(0, 3)}•••••`);
    expect(await page.getByRole('alertdialog').count()).toBe(0);

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByText('Client secret refreshed').waitFor();
    await shot(page, '09-audit-log', { docs: true });
    await page.getByRole('link', { name: 'Basic info' }).click();
    await shot(page, '10-basic-info');
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Apps', exact: true })
      .click();
    await page.getByRole('link', { name: 'Invoice Sync' }).waitFor();
    await shot(page, '11-apps-list', { docs: true });

    // Phone width.
    await page.setViewportSize(PHONE);
    await shot(page, '12-apps-list-phone', { docs: true });
    await page.getByRole('link', { name: 'Invoice Sync' }).click();
    await page.getByRole('link', { name: 'OAuth & access scopes' }).click();
    await shot(page, '13-oauth-tab-phone', { docs: true });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('link', { name: 'Tenant settings' }).click();
    await shot(page, '14-settings-phone');
    await page.setViewportSize(DESKTOP);
    await shot(page, '15-tenant-settings', { docs: true });
    await page.getByRole('link', { name: 'Users' }).click();
    await shot(page, '16-users', { docs: true });

    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('public app: submit, approval, a user of another tenant authorizes it', () => {
  it('runs the whole path in Chromium', async () => {
    const callback = 'https://cb.acme-billing.io/oauth/callback';
    const dev = await newPage();
    await signUp(dev.page, 'Linus', `linus-${randomBytes(3).toString('hex')}@example.org`);
    const page = dev.page;
    await page.getByRole('link', { name: 'Create an app' }).click();
    await page.getByLabel('App name').fill('Acme Billing');
    await page
      .getByLabel(/Public/)
      .first()
      .check();
    await page.getByLabel(/Confidential/).check();
    await page.getByLabel(/OAuth callback URL/).fill('https://placeholder.example.com/callback');
    await page.getByRole('button', { name: 'Save' }).click();
    const appSecret = await page.getByRole('alertdialog').getByLabel('Client secret value').inputValue();
    await page.getByRole('alertdialog').getByRole('link', { name: 'I have copied the secret' }).click();

    // Scopes, with plain-words descriptions.
    await page.getByLabel(/See your contacts/).check();
    await page.getByLabel(/See your name, email address/).check();
    await page.getByRole('button', { name: 'Save scopes' }).click();
    await page.getByText('Scopes saved.').waitFor();
    const clientId = (await page.locator('#client-id').textContent())!.trim();

    // Submitting with the placeholder names the rule that failed.
    await page.getByRole('link', { name: 'Basic info' }).click();
    await page.getByRole('button', { name: 'Submit for approval' }).click();
    await page.getByText('Cannot submit yet.').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/example or test domain/);
    await shot(page, '17-submit-rule-failed', { docs: true });
    await page.getByLabel('OAuth callback URL').fill(callback);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Changes saved.').waitFor();
    await page.getByRole('button', { name: 'Submit for approval' }).click();
    await page.getByText(/Submitted for approval/).waitFor();

    // The platform admin approves.
    const admin = await newPage();
    await admin.page.goto('/login?return_to=%2Fadmin');
    await admin.page.getByLabel('Email address').fill(ts.admin.email);
    await admin.page.getByLabel('Password').fill(ts.admin.password);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();
    await admin.page.getByRole('heading', { name: 'Public apps waiting for review' }).waitFor();
    await admin.page.getByRole('article', { name: 'Acme Billing' }).waitFor();
    await shot(admin.page, '18-review-queue', { docs: true });
    await admin.page.getByRole('button', { name: 'Approve Acme Billing' }).click();
    await admin.page.getByText(/Approved\. Users of every tenant/).waitFor();
    await page.reload();
    await page.getByText('Approved: users of every tenant can authorize this app.').waitFor();

    // A user of another tenant authorizes it: login, consent, redirect to the callback with a code.
    const org = await createTenant(ts, 'Globex');
    const user = await createUser(ts, { tenantId: org.id });
    const end = await newPage();
    let landed: URL | null = null;
    await end.context.route('https://cb.acme-billing.io/**', (route) => {
      landed = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback reached' });
    });
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: callback,
      scope: 'contacts:read profile:read',
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    await end.page.goto(`/oauth/authorize?${q}`);
    await end.page.getByLabel('Email address').fill(user.email);
    await end.page.getByLabel('Password').fill(user.password);
    await shot(end.page, '19-login-for-app');
    await end.page.getByRole('button', { name: 'Sign in' }).click();
    await end.page.getByRole('button', { name: 'Allow' }).waitFor();
    await shot(end.page, '20-consent', { docs: true });
    await end.page.getByRole('button', { name: 'Allow' }).click();
    await expect
      .poll(() => landed?.toString() ?? '', { timeout: 10_000 })
      .toContain(callback)
      .catch((e) => {
        throw new Error(`${e}\n${end.problems.join('\n')}\n${end.page.url()}`);
      });
    const got = landed as unknown as URL;
    expect(got.searchParams.get('state')).toBe('xyz');
    const code = got.searchParams.get('code');
    expect(code).toBeTruthy();
    // The app exchanges the code with its secret.
    const exchanged = await postForm(
      `${ts.url}/oauth/token`,
      { grant_type: 'authorization_code', code: code!, redirect_uri: callback, code_verifier: verifier },
      { authorization: basicAuth(clientId, appSecret) },
    );
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.scope).toBe('contacts:read profile:read');

    await end.page.waitForURL(/^https:\/\/cb\.acme-billing\.io\//);
    await end.page.goto('/account/connected-apps');
    await end.page.getByRole('button', { name: 'Revoke access for Acme Billing' }).waitFor();
    await shot(end.page, '21-connected-apps', { docs: true });

    for (const p of [dev, admin, end]) {
      expect(p.problems).toEqual([]);
      await p.context.close();
    }
  });
});
