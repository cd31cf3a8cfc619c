import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../helpers/api.js';
import { managementToken, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { DESKTOP, launch, shot, watchConsole } from './browser.js';

/**
 * The hub's Webhooks page as an admin uses it: add an endpoint (its signing secret shown once), a field
 * error for a bad URL, the delivery log after an event, Redeliver, rotate the secret, delete. A real
 * receiver verifies every delivery with the `standardwebhooks` package and the secret the page showed.
 */
let ts: TestServer;
let browser: Browser;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await new WebhookReceiver().start();
  [ts, browser] = await Promise.all([
    startTestServer({ env: { CLAVIS_WEBHOOKS_ALLOW_PRIVATE: 'true', CLAVIS_OUTBOX_POLL_MS: '50' } }),
    launch(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await ts?.close();
  await receiver?.close();
});

async function signIn(page: Page) {
  await page.goto('/login?return_to=%2Fadmin%2Fwebhooks');
  await page.getByLabel('Email address').fill(ts.admin.email);
  await page.getByLabel('Password').fill(ts.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /Webhook endpoints of/ }).waitFor();
}

describe('hub: webhooks', () => {
  it('add, see the secret once, deliveries, redeliver, rotate, delete', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: ts.url, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watchConsole(page);
    await signIn(page);
    await page.getByRole('link', { name: 'Webhooks' }).first().waitFor();

    // A bad URL: the field says why, the form keeps what was typed.
    await page.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(() => page.locator('#f-url-error').textContent()).toBe('The URL must use https.');
    expect(await page.getByLabel('Endpoint URL').inputValue()).toBe('ftp://example.com/hook');

    // Add: the secret is shown once.
    await page.getByLabel('Endpoint URL').fill(`${receiver.url}/ok`);
    await page.getByLabel('Description').fill('CRM sync');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secretBox = page.locator('#webhook-secret-text');
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    expect(secret).toMatch(/^whsec_/);
    receiver.secrets.push(secret);
    await shot(page, 'webhooks-created', { docs: true });
    await page.getByRole('link', { name: 'I have copied the secret' }).click();
    await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    // A reload of the list shows no secret either.
    await page.goto('/admin/webhooks');
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('link', { name: `${receiver.url}/ok` }).click();

    // An event: an app created through the API reaches the receiver, verified with the shown secret.
    const api = new ApiClient(ts, await managementToken(ts));
    const app = await api.post('/v1/apps', {
      name: 'Hub hooked',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://hooked.example.com/cb',
      scopes: ['contacts:read'],
    });
    expect(app.status).toBe(201);
    await waitFor(
      () => receiver.events('app.created').length === 1 && receiver.events('secret.created').length === 1,
    );
    await page.reload();
    const log = page.getByRole('table', { name: 'Delivery log' });
    await expect.poll(() => log.locator('tbody tr').count()).toBe(2);
    expect(await log.textContent()).toContain('app.created');
    expect(await log.textContent()).toContain('Delivered');
    await shot(page, 'webhook-deliveries', { docs: true });

    // Redeliver the app.created delivery: the same webhook-id arrives again.
    const row = log.locator('tbody tr').filter({ hasText: 'app.created' });
    await row.getByRole('button', { name: /Redeliver/ }).click();
    await page.getByText('The delivery was queued again').waitFor();
    await waitFor(() => receiver.events('app.created').length === 2);
    const [first, second] = receiver.events('app.created');
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);

    // Rotate: a new secret, shown once; both sign during the overlap.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await secretBox.waitFor();
    const rotated = await secretBox.inputValue();
    expect(rotated).not.toBe(secret);
    await page.getByText(/deliveries are signed with both the old and the new secret/).waitFor();
    await page.getByRole('link', { name: 'I have copied the secret' }).click();
    await page.getByText(/Rotation in progress/).waitFor();

    // Edit: choose events; save.
    await page.getByRole('checkbox', { name: /All events/ }).uncheck();
    await page.getByRole('checkbox', { name: /secret\.revoked/ }).check();
    await page.getByRole('button', { name: 'Save endpoint' }).click();
    await page.getByText('Endpoint saved.').waitFor();
    expect(await page.getByRole('checkbox', { name: /secret\.revoked/ }).isChecked()).toBe(true);

    // Delete.
    await page.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('Endpoint deleted.').waitFor();
    await page.getByText('No endpoints yet').waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });
});
