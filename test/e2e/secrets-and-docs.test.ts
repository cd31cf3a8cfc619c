import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateTenantSettings } from '../../src/domain/tenants.js';
import { adminActor, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant, createUser } from '../helpers/users.js';
import { DESKTOP, launch, PHONE, shot, watchConsole } from './browser.js';

/**
 * What a person sees of client secrets (one status word per state, buttons that are buttons), identifiers
 * with their copy buttons at desktop and phone width, the request-only developer's apps page, and the
 * API docs page (branded, and clean under the strict CSP).
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

async function newPage(
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, baseURL: ts.url, colorScheme: 'light' });
  const page = await context.newPage();
  return { context, page, problems: watchConsole(page) };
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto('/login?return_to=%2Fapps');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Owned applications' }).waitFor();
}

async function signUp(page: Page) {
  await page.goto('/signup');
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Email address').fill(`ada-${randomBytes(3).toString('hex')}@example.org`);
  await page.getByLabel('Password').fill('a long password 123');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('link', { name: 'Continue to your apps' }).click();
  await page.getByRole('heading', { name: 'Owned applications' }).waitFor();
}

/** The value shown once in the open dialog, then the dialog closed. */
async function takeShownValue(page: Page, title: string): Promise<string> {
  const d = page.getByRole('alertdialog', { name: title });
  await d.waitFor();
  const value = await d.getByLabel('Client secret value').inputValue();
  await d.getByRole('link', { name: 'I have copied the secret' }).click();
  await page.getByRole('heading', { name: 'Client secrets' }).waitFor();
  return value;
}

const rowOf = (page: Page, value: string) =>
  page
    .locator('.secrets-table tbody tr')
    .filter({ has: page.locator('td[data-label="Value"]', { hasText: `${value.slice(0, 3)}•••••` }) });

const cell = async (row: Locator, label: string) =>
  ((await row.locator(`td[data-label="${label}"]`).textContent()) ?? '').replace(/\s+/g, ' ').trim();

/** The identifier and its copy button sit on one line, the identifier unbroken, inside the viewport. */
async function expectIdOnOneLine(page: Page, chip: Locator, full: string) {
  expect((await chip.textContent())?.trim()).toBe(full);
  const box = (await chip.boundingBox())!;
  const button = (await chip.locator('xpath=following-sibling::button[1]').boundingBox())!;
  const lineHeight = await chip.evaluate((e) => Number.parseFloat(getComputedStyle(e).lineHeight) || 20);
  expect(box.height).toBeLessThan(lineHeight * 1.8);
  // Beside it, vertically centred on the same line, not under a wrapped tail.
  expect(button.x).toBeGreaterThanOrEqual(box.x + box.width - 1);
  expect(Math.abs(button.y + button.height / 2 - (box.y + box.height / 2))).toBeLessThan(box.height);
  const width = page.viewportSize()!.width;
  expect(button.x + button.width).toBeLessThanOrEqual(width);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

describe('client secrets table', () => {
  it('one status word per state, Revoke instead of Delete, and every action is a button', async () => {
    const { context, page, problems } = await newPage();
    await signUp(page);
    await page.getByRole('link', { name: 'Create an app' }).click();
    await page.getByLabel('App name').fill('Ledger Export');
    await page.getByLabel(/Private/).check();
    await page.getByLabel(/Confidential/).check();
    await page.getByLabel(/OAuth callback URL/).fill('http://localhost:3000/callback');
    await page.getByRole('button', { name: 'Save' }).click();
    const first = await takeShownValue(page, 'Your app is registered');

    // "New client secret" is a button (it opens a dialog), not a link.
    const secrets = page.getByRole('region', { name: 'Client secrets' });
    expect(await secrets.getByRole('link').count()).toBe(0);
    await secrets.getByRole('button', { name: 'New client secret' }).click();
    const form = page.getByRole('dialog', { name: 'New client secret' });
    await form.getByLabel('Description').fill('Staging');
    await form.getByRole('button', { name: 'Add secret' }).click();
    const second = await takeShownValue(page, 'Client secret created');

    // Refresh the first: its row says Replaced, the new one says what it replaces.
    await rowOf(page, first)
      .getByRole('button', { name: /Refresh/ })
      .click();
    await page
      .getByRole('dialog', { name: 'Refresh this client secret?' })
      .getByRole('button', { name: 'Generate new client secret' })
      .click();
    const third = await takeShownValue(page, 'New client secret generated');

    // Revoke the second.
    await rowOf(page, second)
      .getByRole('button', { name: /Revoke/ })
      .click();
    const revoke = page.getByRole('dialog', { name: 'Revoke this client secret?' });
    await revoke.waitFor();
    await revoke.getByRole('button', { name: 'Revoke secret' }).click();
    await page.getByText('The client secret was revoked.').waitFor();

    const headers = (await page.locator('.secrets-table thead th').allTextContents()).map((t) => t.trim());
    expect(headers).toContain('Status');
    expect(await cell(rowOf(page, third), 'Status')).toBe('Active');
    expect(await cell(rowOf(page, third), 'Description')).toContain(`Replaces ${first.slice(0, 3)}•••••`);
    expect(await cell(rowOf(page, first), 'Status')).toBe('Replaced');
    expect(await cell(rowOf(page, second), 'Status')).toBe('Revoked');
    for (const v of [first, second, third])
      expect(await cell(rowOf(page, v), 'Expires')).not.toMatch(/Deactivated/);
    expect(await secrets.getByText(/Delete/).count()).toBe(0);
    // Only the live secret has actions, and they are buttons.
    expect(
      await rowOf(page, third)
        .getByRole('button', { name: /Refresh|Revoke/ })
        .count(),
    ).toBe(2);
    expect(
      await rowOf(page, first)
        .getByRole('button', { name: /Refresh|Revoke/ })
        .count(),
    ).toBe(0);
    expect(await secrets.getByRole('link').count()).toBe(0);
    await shot(page, 'secrets-status', { fullPage: true });

    // Identifiers: the secret ID with its copy button, on one line at desktop and phone width.
    const chip = rowOf(page, third).locator('.id-chip');
    const sid = (await chip.getAttribute('title'))!;
    await expectIdOnOneLine(page, chip, sid);
    const clientId = (await page.locator('#client-id').textContent())!.trim();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Apps', exact: true })
      .click();
    const cid = page.locator('td[data-label="Client ID"] .id-chip').first();
    await expectIdOnOneLine(page, cid, clientId);
    await shot(page, 'ids-apps-desktop', { fullPage: false });
    await page.setViewportSize(PHONE);
    await expectIdOnOneLine(page, cid, clientId);
    await shot(page, 'ids-apps-phone', { fullPage: false });
    await page.getByRole('link', { name: 'Ledger Export' }).click();
    await page.getByRole('link', { name: 'OAuth & access scopes' }).click();
    await expectIdOnOneLine(page, rowOf(page, third).locator('.id-chip'), sid);
    await shot(page, 'ids-secrets-phone', { fullPage: true });

    // The copy button copies the whole value, never the visible, shortened part.
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.setViewportSize(DESKTOP);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Apps', exact: true })
      .click();
    await page.getByRole('button', { name: /Copy client_id of Ledger Export/ }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(clientId);

    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('a developer who may only request apps', () => {
  it('sees an informational box and an empty state that says to request an app', async () => {
    const org = await createTenant(ts, 'Initech');
    await updateTenantSettings(ts.server.services.ctx, await adminActor(ts), org.id, {
      users_can_register_apps: false,
    });
    const dev = await createUser(ts, { tenantId: org.id, role: 'developer' });
    const { context, page, problems } = await newPage();
    await signIn(page, dev.email, dev.password);
    const note = page.getByRole('status').filter({ hasText: 'only admins register apps' });
    expect(await note.getAttribute('class')).toMatch(/\balert-info\b/);
    expect(await note.getAttribute('class')).not.toMatch(/\balert-ok\b/);
    const ok = await page.evaluate(() => {
      const probe = document.createElement('div');
      probe.className = 'alert alert-ok';
      document.body.append(probe);
      const bg = getComputedStyle(probe).backgroundColor;
      probe.remove();
      return bg;
    });
    expect(await note.evaluate((e) => getComputedStyle(e).backgroundColor)).not.toBe(ok);
    const empty = page.locator('.empty');
    expect(await empty.textContent()).not.toMatch(/Register an app/);
    expect(await empty.textContent()).toMatch(/Request an app/);
    await empty.getByRole('link', { name: 'Request an app' }).click();
    await page.waitForURL(/\/apps\/request$/);
    await page.goBack();
    await shot(page, '23-request-only-apps', { docs: true, fullPage: false });
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('API docs page', () => {
  it('is titled and branded "Clavis API", lists the OAuth endpoints, and runs clean under the CSP', async () => {
    const { context, page, problems } = await newPage();
    const violations: string[] = [];
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { reportViolation(v: string): void }).reportViolation(
          `${e.violatedDirective} ${e.blockedURI}`,
        ),
      );
    });
    await page.goto('/api/docs');
    await page
      .getByRole('heading', { name: /^Clavis API/ })
      .first()
      .waitFor();
    await page.getByRole('heading', { name: 'OAuth 2.0' }).first().waitFor();
    await page.getByText('/oauth/token', { exact: true }).first().waitFor();
    await page.getByText('/api/v1/me', { exact: true }).first().waitFor();
    expect(await page.title()).toBe('Clavis API');
    expect(await page.content()).not.toMatch(/Swagger UI<\/title>/);
    // The top bar shows Clavis's mark, not the stock logo.
    await page.locator('.clavis-docs-brand').first().waitFor();
    expect(await page.locator('.topbar').count()).toBe(0);
    await shot(page, '22-api-docs', { docs: true, fullPage: false });
    await page.waitForTimeout(300);
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
