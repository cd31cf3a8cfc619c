import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getApi, listApis } from '../../src/domain/apis.js';
import { listAppPermissions } from '../../src/domain/app-permissions.js';
import { createApp } from '../../src/domain/apps.js';
import type { Actor } from '../../src/domain/context.js';
import { basicAuth, postForm, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant, createUser } from '../helpers/users.js';
import { DESKTOP, launch, PHONE, shot, shotOf, watchConsole } from './browser.js';

/**
 * The APIs pages and the app's API permissions in real headless Chromium: a tenant admin registers an API
 * with two scopes (one needing admin consent, added with "Add a row"), a developer of the tenant requests
 * both for their app (pending), the admin grants them with one click, then removes a held scope and deletes
 * the API, each only after the page asked again. Screenshots for the hub tour.
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

async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, baseURL: ts.url, colorScheme: 'light' });
  const page = await context.newPage();
  return { page, problems: watchConsole(page), close: () => context.close() };
}

/** A full-page screenshot from the top (the sticky top bar would otherwise sit mid-page). */
async function shotTop(page: Page, name: string, docs = false) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, name, { docs });
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

const token = (clientId: string, secret: string, resource: string, scope?: string) =>
  postForm(
    `${ts.url}/oauth/token`,
    { grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) },
    { authorization: basicAuth(clientId, secret) },
  );

const actorOf = (user: { id: string; tenant_id: string; role: string }): Actor => ({
  id: `user:${user.id}`,
  tenantId: user.tenant_id,
  userId: user.id,
  role: user.role as Actor['role'],
  platformAdmin: false,
});

describe('APIs, permissions and admin consent', () => {
  it('an admin registers an API, a developer requests its scopes, the admin grants them, then removes a scope and deletes the API', async () => {
    const ctx = ts.server.services.ctx;
    const tenant = await createTenant(ts, 'Acme Billing');
    const admin = await createUser(ts, { tenantId: tenant.id, role: 'admin' });
    const dev = await createUser(ts, { tenantId: tenant.id, role: 'developer' });
    const { app, secret } = await createApp(ctx, actorOf(dev.user), {
      name: 'Invoice exporter',
      visibility: 'private',
      client_type: 'confidential',
      callback_url: 'https://exporter.acme-billing.io/cb',
    });

    // The admin: "APIs" in the navigation, the two built-in APIs listed and marked.
    const a = await newPage();
    await signIn(a.page, admin.email, admin.password);
    await a.page.getByRole('link', { name: 'APIs', exact: true }).click();
    await a.page.getByRole('heading', { name: 'APIs', exact: true }).waitFor();
    await expect(a.page.getByText('Built-in', { exact: true }).count()).resolves.toBe(2);

    // A new API: the first scope row, "Add a row" (nothing saved yet), the second scope needs admin consent.
    await a.page.getByRole('link', { name: 'New API' }).click();
    await a.page.getByLabel('Name', { exact: true }).fill('Invoices API');
    await a.page.getByLabel('Identifier (audience)').fill('https://api.acme-billing.io/invoices');
    await a.page.getByLabel('Description (optional)').fill('Invoices of Acme Billing customers.');
    await a.page.getByLabel('Access token lifetime (seconds)').fill('900');
    await a.page.getByLabel('Name of scope 1').fill('invoices:read');
    await a.page.getByLabel('Description of scope 1').fill('Read your invoices');
    await a.page.getByRole('button', { name: 'Add a row' }).click();
    await a.page.getByLabel('Name of scope 2').waitFor();
    await expect(a.page.getByLabel('Name of scope 1').inputValue()).resolves.toBe('invoices:read');
    await expect(a.page.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('Invoices API');
    expect((await listApis(ctx, actorOf(admin.user))).some((x) => x.name === 'Invoices API')).toBe(false);
    await a.page.getByLabel('Name of scope 2').fill('invoices:export');
    await a.page.getByLabel('Description of scope 2').fill('Export all invoices');
    await a.page.getByLabel('Required for scope 2').check();
    await shotTop(a.page, '25-api-new', true);
    await a.page.getByRole('button', { name: 'Create API' }).click();
    await a.page.getByText('The API was created.').waitFor();
    const apiId = /\/apis\/([0-9a-f-]{36})/.exec(a.page.url())![1]!;
    const api = await getApi(ctx, actorOf(admin.user), apiId);
    expect(api.scopes).toEqual([
      { name: 'invoices:read', description: 'Read your invoices', admin_consent_required: false },
      { name: 'invoices:export', description: 'Export all invoices', admin_consent_required: true },
    ]);
    expect(api.access_token_ttl).toBe(900);
    await a.page.getByRole('link', { name: 'APIs', exact: true }).first().click();
    await a.page.getByRole('link', { name: 'Invoices API' }).waitFor();
    await shotTop(a.page, '26-apis-list', true);

    // The developer asks for both scopes on the app's "OAuth & access scopes" tab: pending.
    const d = await newPage();
    await signIn(d.page, dev.email, dev.password);
    await expect(d.page.getByRole('link', { name: 'APIs', exact: true }).count()).resolves.toBe(0);
    await d.page.goto(`/apps/${app.id}/oauth`);
    await d.page.getByRole('heading', { name: 'API permissions', exact: true }).waitFor();
    await d.page.getByLabel('API', { exact: true }).selectOption(apiId);
    await d.page.getByRole('button', { name: 'Choose scopes' }).click();
    await d.page.getByRole('checkbox', { name: /Read your invoices/ }).check();
    await d.page.getByRole('checkbox', { name: /Export all invoices/ }).check();
    await d.page.getByRole('button', { name: 'Request these scopes' }).click();
    await d.page.getByText('Requested. An admin of your tenant grants').waitFor();
    const block = d.page.locator(`article[data-api-id="${apiId}"]`);
    await expect(block.getByText('Pending admin consent').count()).resolves.toBeGreaterThan(0);
    await expect(block.getByRole('button', { name: /Grant admin consent/ }).count()).resolves.toBe(0);
    await shotOf(d.page.locator('#permissions'), '27-app-permissions-pending', { docs: true });
    // Pending: no client-credentials token with these scopes yet.
    const resource = 'https://api.acme-billing.io/invoices';
    const early = await token(app.client_id, secret!.value, resource, 'invoices:read');
    expect(early.json.error).toBe('invalid_scope');

    // The admin grants them with one click on the same tab.
    await a.page.goto(`/apps/${app.id}/oauth`);
    const adminBlock = a.page.locator(`article[data-api-id="${apiId}"]`);
    await adminBlock.getByRole('button', { name: /Grant admin consent/ }).click();
    await a.page.getByText('Granted. The app may use these scopes now.').waitFor();
    await expect(adminBlock.getByText('Pending admin consent').count()).resolves.toBe(0);
    await expect(adminBlock.getByText('Granted', { exact: true }).count()).resolves.toBe(3);
    await shotOf(a.page.locator('#permissions'), '28-admin-consent-granted', { docs: true });
    const granted = (await listAppPermissions(ctx, actorOf(admin.user), app.id)).find(
      (p) => p.api_id === apiId,
    );
    expect(granted?.status).toBe('granted');
    // Granted: a token for the API, its audience and lifetime, with both scopes.
    const issued = await token(app.client_id, secret!.value, resource);
    expect(issued.status, issued.text).toBe(200);
    expect(issued.json.expires_in).toBe(900);
    expect(issued.json.scope.split(' ').sort()).toEqual(['invoices:export', 'invoices:read']);
    const claims = JSON.parse(Buffer.from(issued.json.access_token.split('.')[1], 'base64url').toString());
    expect(claims.aud).toBe(resource);

    // Removing a scope the app holds asks first; confirming takes it from the app.
    await a.page.goto(`/apis/${apiId}`);
    await a.page.getByLabel('Remove scope invoices:export').check();
    await a.page.getByRole('button', { name: 'Save API' }).click();
    await a.page.getByText('Apps hold scopes you are removing.').waitFor();
    expect((await getApi(ctx, actorOf(admin.user), apiId)).scopes).toHaveLength(2);
    await shotTop(a.page, 'api-remove-held-scope-confirm');
    await a.page.getByRole('button', { name: 'Remove the scopes from those apps and save' }).click();
    await a.page.getByText('API saved.').waitFor();
    expect((await getApi(ctx, actorOf(admin.user), apiId)).scopes.map((s) => s.name)).toEqual([
      'invoices:read',
    ]);
    expect(
      (await listAppPermissions(ctx, actorOf(admin.user), app.id)).find((p) => p.api_id === apiId)?.scopes,
    ).toEqual(['invoices:read']);

    // Deleting an API that apps use asks twice: the dialog, then the forced confirmation.
    await a.page.getByRole('button', { name: 'Delete API' }).click();
    await a.page
      .getByRole('dialog', { name: 'Delete Invoices API?' })
      .getByRole('button', { name: 'Delete API' })
      .click();
    await a.page.getByText('Apps use this API.').waitFor();
    await a.page.getByRole('button', { name: 'Delete the API and remove its permissions' }).click();
    await a.page.getByText('The API was deleted.').waitFor();
    const gone = await token(app.client_id, secret!.value, resource);
    expect(gone.json.error).toBe('invalid_target');
    expect((await listAppPermissions(ctx, actorOf(admin.user), app.id)).some((p) => p.api_id === apiId)).toBe(
      false,
    );

    // On a phone the APIs list turns into labelled cards.
    const p = await newPage(PHONE);
    await signIn(p.page, admin.email, admin.password);
    await p.page.goto('/apis');
    await p.page.getByRole('heading', { name: 'APIs', exact: true }).waitFor();
    await shotTop(p.page, 'apis-list-phone');

    expect(a.problems).toEqual([]);
    expect(d.problems).toEqual([]);
    expect(p.problems).toEqual([]);
    await Promise.all([a.close(), d.close(), p.close()]);
  });
});
